package form

import (
	"context"
	"encoding/json"
	"math"
	"slices"

	"xianfeng/server/internal/org"
)

// SummarizeEntries is the summary as it was computed before the totals:
// from every entry of the day. The tests hold Summarize to its answers.
func (s *Service) SummarizeEntries(ctx context.Context, userID, formID int64, day string) (_ Summary, err error) {
	f, v, err := s.oversee(ctx, userID, formID)
	if err != nil {
		return Summary{}, err
	}
	if f.Mode == ModeDaily && day == "" {
		day = s.Day(s.now())
	}
	db := s.DB().WithContext(ctx)
	q := v.within(db.Where("form_id = ?", f.ID), "org_id")
	if day != "" {
		q = q.Where("day = ?", day)
	}
	var entries []Entry
	if err := q.Order("id").Find(&entries).Error; err != nil {
		return Summary{}, err
	}
	fields := f.FieldList()
	sum := Summary{Day: day, Entries: len(entries), Fields: make([]FieldSummary, len(fields)), Orgs: []OrgSummary{}}
	totals := make([]float64, len(fields))
	for i, fd := range fields {
		sum.Fields[i] = FieldSummary{Key: fd.Key, Type: fd.Type}
		if fd.Type == TypeChoice || fd.Type == TypeMulti {
			sum.Fields[i].Counts = map[string]int{}
		}
	}
	submitted := map[int64]bool{}
	byOrg := map[int64]map[int64]bool{}
	for _, e := range entries {
		if e.Alert {
			sum.Alerts++
		}
		submitted[e.UserID] = true
		if byOrg[e.OrgID] == nil {
			byOrg[e.OrgID] = map[int64]bool{}
		}
		byOrg[e.OrgID][e.UserID] = true
		var answers map[string]json.RawMessage
		if err := json.Unmarshal([]byte(e.Answers), &answers); err != nil {
			return Summary{}, err
		}
		for i, fd := range fields {
			raw, ok := answers[fd.Key]
			if !ok {
				continue
			}
			fs := &sum.Fields[i]
			fs.Answered++
			switch fd.Type {
			case TypeChoice:
				var v string
				if json.Unmarshal(raw, &v) == nil {
					fs.Counts[v]++
				}
			case TypeMulti:
				var vs []string
				_ = json.Unmarshal(raw, &vs) // stored by Check as a list of options
				for _, v := range vs {
					fs.Counts[v]++
				}
			case TypeNumber, TypeTemperature:
				var v float64
				if json.Unmarshal(raw, &v) != nil {
					continue
				}
				totals[i] += v
				if fs.Min == nil || v < *fs.Min {
					fs.Min = &v
				}
				if fs.Max == nil || v > *fs.Max {
					fs.Max = &v
				}
			}
		}
	}
	for i := range sum.Fields {
		if fs := &sum.Fields[i]; fs.Min != nil {
			mean := math.Round(totals[i]/float64(fs.Answered)*100) / 100
			fs.Mean = &mean
		}
	}
	for id, users := range byOrg {
		sum.Orgs = append(sum.Orgs, OrgSummary{OrgID: id, Submitted: len(users)})
	}
	slices.SortFunc(sum.Orgs, func(a, b OrgSummary) int { return int(a.OrgID - b.OrgID) })
	sum.Submitted = len(submitted)

	// The audience as it stands now.
	aq := v.within(s.memberships(ctx, f), "m.org_id").Select("m.user_id, m.org_id, m.badge, m.name")
	var members []struct {
		UserID int64
		OrgID  int64
		Badge  org.Badge
		Name   string
	}
	if err := aq.Order("m.id").Scan(&members).Error; err != nil {
		return Summary{}, err
	}
	var own []int64
	for _, root := range v.Roots {
		secs, err := s.orgs.Secretaries(ctx, root)
		if err != nil {
			return Summary{}, err
		}
		if slices.Contains(secs, userID) {
			own = append(own, root)
		}
	}
	if len(own) > 0 {
		sum.Missing = []Absent{}
	}
	seen := map[int64]bool{}
	for _, m := range members {
		if seen[m.UserID] || !f.For(m.UserID, m.Badge) {
			continue
		}
		seen[m.UserID] = true
		sum.Audience++
		if slices.Contains(own, m.OrgID) && !submitted[m.UserID] && len(sum.Missing) < maxMissing {
			sum.Missing = append(sum.Missing, Absent{UserID: m.UserID, Name: m.Name})
		}
	}
	return sum, nil
}
