package form

import (
	"context"
	"encoding/json"
	"math"
	"slices"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/org"
)

// FieldSummary sums up the answers to one field: how often each option
// was chosen (choice, multi), and the least, greatest and mean number
// (number, temperature).
type FieldSummary struct {
	Key      string         `json:"key"`
	Type     FieldType      `json:"type"`
	Answered int            `json:"answered"`
	Counts   map[string]int `json:"counts,omitempty"`
	Min      *float64       `json:"min,omitempty"`
	Max      *float64       `json:"max,omitempty"`
	Mean     *float64       `json:"mean,omitempty"`
}

// OrgSummary counts the members of one org who submitted.
type OrgSummary struct {
	OrgID     int64 `json:"org_id"`
	Submitted int   `json:"submitted"`
}

// Absent is a member of the audience in the secretary's own org who has
// not submitted.
type Absent struct {
	UserID int64  `json:"user_id"`
	Name   string `json:"name"`
}

// Summary is a form's figures for a day (for daily forms) or overall.
type Summary struct {
	// Day is the day summed up; "" for all the entries of a form that is
	// not daily.
	Day     string `json:"day"`
	Entries int    `json:"entries"`
	Alerts  int    `json:"alerts"`
	// Audience counts the members the form is for as they stand now, and
	// Submitted those of them (or of earlier audiences) who submitted.
	Audience  int            `json:"audience"`
	Submitted int            `json:"submitted"`
	Fields    []FieldSummary `json:"fields"`
	// Orgs counts who submitted by the org of the membership they used.
	Orgs []OrgSummary `json:"orgs"`
	// Missing lists, for a secretary of the form's own org, the members of
	// that org in the audience who have not submitted (at most 1000);
	// null for secretaries above.
	Missing []Absent `json:"missing"`
}

// maxMissing bounds the list of members who have not submitted.
const maxMissing = 1000

// Summarize returns the figures of a form for a secretary of its org or
// above: of day's entries for a daily form (today when day is ""), of all
// entries otherwise.
func (s *Service) Summarize(ctx context.Context, userID, formID int64, day string) (_ Summary, err error) {
	defer apperr.Annotate(&err, "form.Summarize(%d)", formID)
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
