package form

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/audit"
	"xianfeng/server/internal/contentsec"
	"xianfeng/server/internal/org"
	"xianfeng/server/internal/xlsx"
)

// SheetEntries is the name of the export's sheet; a range longer than a
// sheet holds continues on "填报记录 (2)" and so on.
const SheetEntries = "填报记录"

// EntryHeaders are the export's columns before the form's fields;
// TailHeaders those after them.
var (
	EntryHeaders = []string{"组织", "姓名", "身份", "日期", "提交时间", "离线填写时间"}
	TailHeaders  = []string{"预警", "更正次数", "最后更正时间"}
)

// MaxExportDays is the longest range an export may ask for.
const MaxExportDays = 366

// exportBatch is how many entries the export reads at a time.
const exportBatch = 1000

// maxSheetRows is the most rows a sheet holds, header included (Excel's
// limit; tests lower it).
var maxSheetRows = xlsx.MaxRows

// Range is a range of whole days (YYYY-MM-DD in the configured zone, both
// included).
type Range struct{ From, To string }

// ExportRange reads the days of an export: one day, today, when neither is
// given; the other day when only one is.
func (s *Service) ExportRange(from, to string) (Range, error) {
	bad := map[string]string{}
	parse := func(name, v string) time.Time {
		t, err := time.Parse(time.DateOnly, v)
		if v != "" && err != nil {
			bad[name] = "日期格式应为 YYYY-MM-DD"
		}
		return t
	}
	f, t := parse("from", from), parse("to", to)
	if len(bad) > 0 {
		return Range{}, apperr.Invalid("参数错误", bad)
	}
	switch {
	case from == "" && to == "":
		return Range{From: s.Day(s.now()), To: s.Day(s.now())}, nil
	case from == "":
		return Range{From: to, To: to}, nil
	case to == "":
		return Range{From: from, To: from}, nil
	case f.After(t):
		return Range{}, apperr.Invalid("参数错误", map[string]string{"from": "开始日期不能晚于结束日期"})
	case t.Sub(f) >= MaxExportDays*24*time.Hour:
		return Range{}, apperr.Invalid("参数错误", map[string]string{"to": fmt.Sprintf("日期范围不能超过 %d 天", MaxExportDays)})
	}
	return Range{From: from, To: to}, nil
}

// exportRow is an entry as the export reads it.
type exportRow struct {
	Entry
	OrgName string
	Name    *string
	Badge   *org.Badge
}

// Export builds the workbook of a form's entries made on the days of r, for
// a secretary who oversees some of it, of what they see (see viewOf;
// anyone else gets ErrNotFound),
// and records in the audit trail who exported what once it is built.
// One row per entry, as its secretaries see it: the latest version, with
// how many times it was corrected; ID and phone numbers masked, whoever
// exports. Entries are read exportBatch at a time, in day and id order
// after the last one read, and streamed to temporary files, so memory
// stays flat whatever the range.
func (s *Service) Export(ctx context.Context, userID, formID int64, r Range) (_ *xlsx.Workbook, err error) {
	defer apperr.Annotate(&err, "form.Export(%d)", formID)
	f, v, err := s.oversee(ctx, userID, formID)
	if err != nil {
		return nil, err
	}
	name := "填报_" + f.Title + "_" + r.From
	if r.To != r.From {
		name += "_" + r.To
	}
	wb, err := xlsx.New("", name+".xlsx")
	if err != nil {
		return nil, err
	}
	err = s.exportRows(ctx, userID, wb, f, v, r)
	if err == nil {
		detail := map[string]any{"form_id": f.ID, "from": r.From, "to": r.To, "rows": wb.Rows[SheetEntries]}
		if !v.All {
			detail["orgs"] = v.Roots
		}
		err = audit.Write(s.DB().WithContext(ctx), f.OrgID, userID, audit.ActionFormExport, nil, detail)
	}
	if err != nil {
		_ = wb.Close()
		return nil, err
	}
	return wb, nil
}

// exportRows writes the entries userID may see to wb.
func (s *Service) exportRows(ctx context.Context, userID int64, wb *xlsx.Workbook, f Form, v view, r Range) error {
	fields := f.FieldList()
	headers := append([]string{}, EntryHeaders...)
	widths := []float64{24, 12, 10, 12, 20, 20}
	for _, fd := range fields {
		h := fd.Label
		if fd.Unit != "" {
			h += "（" + fd.Unit + "）"
		} else if fd.Type == TypeTemperature {
			h += "（℃）"
		}
		headers = append(headers, h)
		widths = append(widths, 16)
	}
	headers = append(headers, TailHeaders...)
	widths = append(widths, 8, 10, 20)
	sh := wb.Sheet(SheetEntries, headers, widths, maxSheetRows)
	afterDay, afterID := "", int64(0)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var rows []exportRow
		err := v.within(s.DB().WithContext(ctx).Table("form_entries AS e"), "e.org_id").
			Select("e.*, o.name AS org_name, "+org.MemberName+" AS name, m.badge AS badge").
			Joins("JOIN orgs o ON o.id = e.org_id").
			Joins(org.JoinMembershipSQL("e.org_id", "e.user_id")).
			Where("e.form_id = ? AND e.day >= ? AND e.day <= ?", f.ID, r.From, r.To).Scopes(contentsec.Shown("e.user_id", userID)).
			Where("e.day > ? OR (e.day = ? AND e.id > ?)", afterDay, afterDay, afterID).
			Order("e.day, e.id").Limit(exportBatch).Find(&rows).Error
		if err != nil {
			return err
		}
		for _, row := range rows {
			answers, err := s.open(fields, row.Answers, false)
			if err != nil {
				return fmt.Errorf("entry %d: %w", row.ID, err)
			}
			values := []any{row.OrgName, "", "", row.Day, s.when(&row.CreatedAt), s.when(row.ClientTime)}
			if row.Name != nil {
				values[1] = *row.Name
			}
			if row.Badge != nil {
				values[2] = row.Badge.Label()
			}
			for _, fd := range fields {
				values = append(values, cell(fd, answers[fd.Key]))
			}
			alert, corrected := "", ""
			if row.Alert {
				alert = "是"
			}
			if row.Version > 1 {
				corrected = s.when(&row.UpdatedAt)
			}
			values = append(values, alert, row.Version-1, corrected)
			if err := sh.Add(values...); err != nil {
				return err
			}
			afterDay, afterID = row.Day, row.ID
		}
		if len(rows) < exportBatch {
			return sh.Flush()
		}
	}
}

// cell is an answer as a spreadsheet cell: numbers as numbers, options
// joined with "、", a place as "lat,lng 地址".
func cell(fd Field, raw json.RawMessage) any {
	if raw == nil {
		return ""
	}
	switch fd.Type {
	case TypeNumber, TypeTemperature:
		var v float64
		if json.Unmarshal(raw, &v) == nil {
			return v
		}
	case TypeMulti:
		var vs []string
		if json.Unmarshal(raw, &vs) == nil {
			return strings.Join(vs, "、")
		}
	case TypeLocation:
		var l Location
		if json.Unmarshal(raw, &l) == nil {
			return strings.TrimSpace(strconv.FormatFloat(l.Lat, 'f', -1, 64) + "," + strconv.FormatFloat(l.Lng, 'f', -1, 64) + " " + l.Address)
		}
	default:
		var v string
		if json.Unmarshal(raw, &v) == nil {
			return v
		}
	}
	return string(raw)
}

// when formats a time in the configured zone; "" for none.
func (s *Service) when(t *time.Time) string { return xlsx.Time(t, s.opts.Location) }
