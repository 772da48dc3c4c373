package form

import (
	"context"
	"math"
	"slices"

	"gorm.io/gorm"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/database"
	"xianfeng/server/internal/org"
	"xianfeng/server/internal/paging"
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
	// Orgs counts who submitted by the org of the membership they used, in
	// org id order: a page of them (see SummarizePage), OrgsNext where the
	// next page starts (0: this is the last).
	Orgs     []OrgSummary  `json:"orgs"`
	OrgsNext paging.Cursor `json:"orgs_next_cursor"`
	// Missing lists, for a secretary of the form's own org, the members of
	// that org in the audience who have not submitted (at most 1000);
	// null for secretaries above.
	Missing []Absent `json:"missing"`
}

// maxMissing bounds the list of members who have not submitted.
const maxMissing = 1000

// Summarize is SummarizePage with every org in Orgs.
func (s *Service) Summarize(ctx context.Context, userID, formID int64, day string) (Summary, error) {
	return s.SummarizePage(ctx, userID, formID, day, 0, 0)
}

// SummarizePage returns the figures of a form for a secretary who oversees
// some of it, over what they see (see viewOf): of day's entries for a daily
// form (today when day is ""), of all entries otherwise. The figures of
// the entries are read from the form's totals once the entries not yet
// counted are folded in (for a secretary of the whole form, its own rows:
// org 0), summed over the orgs seen; the audience and who has not
// submitted from the memberships. Orgs holds the orgs after the org id
// after, at most limit of them (0: all).
func (s *Service) SummarizePage(ctx context.Context, userID, formID int64, day string, after int64, limit int) (_ Summary, err error) {
	defer apperr.Annotate(&err, "form.Summarize(%d)", formID)
	f, v, err := s.oversee(ctx, userID, formID)
	if err != nil {
		return Summary{}, err
	}
	if _, err := s.Fold(ctx, f.ID); err != nil {
		return Summary{}, err
	}
	if f.Mode == ModeDaily && day == "" {
		day = s.Day(s.now())
	}
	fields := f.FieldList()
	sum := Summary{Day: day, Fields: make([]FieldSummary, len(fields)), Orgs: []OrgSummary{}}
	at := map[string]int{}
	for i, fd := range fields {
		sum.Fields[i] = FieldSummary{Key: fd.Key, Type: fd.Type}
		if fd.Type == TypeChoice || fd.Type == TypeMulti {
			sum.Fields[i].Counts = map[string]int{}
		}
		at[fd.Key] = i
	}
	page := func(q *gorm.DB) *gorm.DB {
		q = q.Where("org_id > ?", after).Order("org_id")
		if limit > 0 {
			q = q.Limit(limit + 1)
		}
		return q
	}
	err = database.CustomPlans(ctx, s.DB(), func(db *gorm.DB) error {
		// The orgs' rows; those of the whole form (org 0) are in no subtree.
		totals := func() *gorm.DB {
			q := v.within(db.Table("form_totals").Where("form_id = ?", f.ID), "org_id")
			if day != "" {
				q = q.Where("day = ?", day)
			}
			return q
		}
		figures := totals()
		if v.All {
			figures = db.Table("form_totals").Where("form_id = ? AND org_id = 0", f.ID)
			if day != "" {
				figures = figures.Where("day = ?", day)
			}
		}
		var rows []struct {
			FieldKey, Choice string
			N, Alerts        int
			Total            float64
			Lo, Hi           *float64
		}
		if err := figures.Select("field_key, choice, SUM(n) AS n, SUM(alerts) AS alerts, SUM(total) AS total, MIN(lo) AS lo, MAX(hi) AS hi").
			Group("field_key, choice").Scan(&rows).Error; err != nil {
			return err
		}
		for _, r := range rows {
			i, ok := at[r.FieldKey]
			switch {
			case r.FieldKey == "":
				sum.Entries, sum.Alerts = r.N, r.Alerts
			case !ok || r.N <= 0:
			case r.Choice != "":
				if sum.Fields[i].Counts != nil {
					sum.Fields[i].Counts[r.Choice] = r.N
				}
			default:
				fs := &sum.Fields[i]
				fs.Answered = r.N
				if (fs.Type == TypeNumber || fs.Type == TypeTemperature) && r.Lo != nil {
					mean := math.Round(r.Total/float64(r.N)*100) / 100
					fs.Min, fs.Max, fs.Mean = r.Lo, r.Hi, &mean
				}
			}
		}
		if f.Mode == ModeEntries {
			// Members make many entries: count each once.
			entries := func() *gorm.DB {
				q := v.within(db.Model(&Entry{}).Where("form_id = ?", f.ID), "org_id")
				if day != "" {
					q = q.Where("day = ?", day)
				}
				return q
			}
			var n int64
			if err := entries().Distinct("user_id").Count(&n).Error; err != nil {
				return err
			}
			sum.Submitted = int(n)
			return page(entries()).Select("org_id, COUNT(DISTINCT user_id) AS submitted").Group("org_id").Scan(&sum.Orgs).Error
		}
		// One entry per member (a day): the entries are who submitted.
		sum.Submitted = sum.Entries
		return page(totals()).Where("field_key = '' AND choice = ''").Select("org_id, SUM(n) AS submitted").
			Group("org_id").Having("SUM(n) > 0").Scan(&sum.Orgs).Error
	})
	if err != nil {
		return Summary{}, err
	}
	if limit > 0 {
		p := paging.Trim(sum.Orgs, limit, func(o OrgSummary) int64 { return o.OrgID })
		sum.Orgs, sum.OrgsNext = p.Items, p.Next
	}
	return sum, s.absent(ctx, userID, f, v, day, &sum)
}

// absent counts the audience of what v sees as it stands now and, for a
// secretary of the top of what they see, lists who of that org's own
// members has made no entry (of the day).
func (s *Service) absent(ctx context.Context, userID int64, f Form, v view, day string, sum *Summary) error {
	var n int64
	if err := s.audienceOf(ctx, f, v).Distinct("m.user_id").Count(&n).Error; err != nil {
		return err
	}
	sum.Audience = int(n)
	var own []int64
	for _, root := range v.Roots {
		secs, err := s.orgs.Secretaries(ctx, root)
		if err != nil {
			return err
		}
		if slices.Contains(secs, userID) {
			own = append(own, root)
		}
	}
	if len(own) == 0 {
		return nil
	}
	filled := s.DB().Session(&gorm.Session{NewDB: true}).Model(&Entry{}).Select("1").Where("form_id = ? AND user_id = m.user_id", f.ID)
	if day != "" {
		filled = filled.Where("day = ?", day)
	}
	sum.Missing = []Absent{}
	return s.audienceOf(ctx, f, v).Where("m.org_id IN ?", own).Where("NOT EXISTS (?)", filled).
		Select("m.user_id, MIN(" + org.MemberName + ") AS name").Group("m.user_id").Order("MIN(m.id)").Limit(maxMissing).Scan(&sum.Missing).Error
}

// audienceOf selects the live memberships (aliased m) of what v sees of
// f that put their member in its audience (see Form.For).
func (s *Service) audienceOf(ctx context.Context, f Form, v view) *gorm.DB {
	q := v.within(s.memberships(ctx, f), "m.org_id")
	if t := f.Audience(); len(t.Badges) > 0 || len(t.UserIDs) > 0 {
		who := s.DB().Session(&gorm.Session{NewDB: true})
		if len(t.Badges) > 0 {
			who = who.Or("m.badge IN ?", t.Badges)
		}
		if len(t.UserIDs) > 0 {
			who = who.Or("m.user_id IN ?", t.UserIDs)
		}
		q = q.Where(who)
	}
	return q
}
