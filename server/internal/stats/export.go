package stats

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/audit"
	"xianfeng/server/internal/contentsec"
	"xianfeng/server/internal/deed"
	"xianfeng/server/internal/notify"
	"xianfeng/server/internal/org"
	"xianfeng/server/internal/report"
	"xianfeng/server/internal/task"
	"xianfeng/server/internal/user"
	"xianfeng/server/internal/xlsx"
)

// Sheets of the export, in order, with their header rows.
var (
	SheetOrgs    = "组织"
	SheetMembers = "党员"
	SheetTasks   = "任务"
	SheetReports = "上报"
	SheetDeeds   = "事迹"
	SheetForms   = "填报"

	OrgHeaders    = []string{"编号", "名称", "类型", "上级", "层级", "成员数"}
	MemberHeaders = []string{"姓名", "所属组织", "身份", "角色", "状态", "手机号", "加入时间"}
	TaskHeaders   = []string{"编号", "标题", "类型", "发布组织", "状态", "发布时间", "截止时间", "指派人数", "已接受", "按时完成", "逾期", "已拒绝", "微信已推送", "推送未确认", "推送失败"}
	ReportHeaders = []string{"编号", "上报组织", "上报人", "类别", "紧急程度", "状态", "当前所在组织", "上报层级", "上报时间", "签收时间", "签收用时（秒）", "办结时间", "内容"}
	DeedHeaders   = []string{"编号", "标题", "党员", "所属组织", "状态", "当前所在组织", "提名时间", "更新时间"}
	FormHeaders   = []string{"编号", "标题", "方式", "发布组织", "状态", "截止时间", "填报数", "缺报数", "预警数"}
)

// pageSize is how many rows the export reads from the database at a time.
const pageSize = 2000

// maxSheetRows is the most rows a worksheet holds (Excel's limit); a longer
// list continues on a sheet named like "党员 (2)".
var maxSheetRows = xlsx.MaxRows

// Export builds the workbook of an org's subtree over a period for a
// secretary of the org or an ancestor (anyone else gets
// org.ErrOrgNotFound), and records in the audit trail who exported which
// org, the period and the rows of each sheet, once the workbook is built.
// Sheets:
//
//   - 组织: every org of the subtree, with its approved members counted over
//     its own subtree (as on the org's page);
//   - 党员: every membership in the subtree, whatever its status, org by
//     org, phone numbers masked;
//   - 任务: the tasks created in the period that assigned members of the
//     subtree, with the figures of those assignments (the columns add up to
//     the org's task statistics) and how their "new task" pushes went: sent,
//     unconfirmed (the worker died mid-send; never counted as sent), failed;
//   - 上报: the reports filed in the subtree in the period;
//   - 事迹: the deeds of the subtree nominated or updated in the period;
//   - 填报: the screening forms with entries or misses of the subtree on
//     days of the period, with those counted (the columns add up to the
//     org's form statistics) and the entries that tripped an alert.
//
// Rows are read pageSize at a time, each page after the last key of the
// previous one (id; org and id for members), and streamed to temporary
// files, so memory stays flat whatever the size of the subtree.
func (s *Service) Export(ctx context.Context, userID, orgID int64, p Period) (_ *xlsx.Workbook, err error) {
	defer apperr.Annotate(&err, "stats.Export(%d)", orgID)
	o, err := s.orgs.RequireManager(ctx, userID, orgID)
	if err != nil {
		return nil, err
	}
	wb, err := xlsx.New(s.opts.TmpDir, "考核数据_"+o.Name+"_"+p.From+"_"+p.To+".xlsx")
	if err != nil {
		return nil, err
	}
	err = s.fill(ctx, wb, o, p)
	if err == nil {
		err = audit.Write(s.DB().WithContext(ctx), orgID, userID, ActionExport, nil,
			map[string]any{"from": p.From, "to": p.To, "org_name": o.Name, "rows": wb.Rows})
	}
	if err != nil {
		_ = wb.Close()
		return nil, err
	}
	return wb, nil
}

func (s *Service) fill(ctx context.Context, wb *xlsx.Workbook, o org.Org, p Period) error {
	for _, sh := range []struct {
		name    string
		headers []string
		widths  []float64
		rows    func(ctx context.Context, add func(...any) error) error
	}{
		{SheetOrgs, OrgHeaders, []float64{10, 24, 12, 24, 8, 10}, func(ctx context.Context, add func(...any) error) error {
			return s.orgRows(ctx, o.ID, add)
		}},
		{SheetMembers, MemberHeaders, []float64{12, 24, 10, 8, 10, 16, 20}, func(ctx context.Context, add func(...any) error) error {
			return s.memberRows(ctx, o.ID, add)
		}},
		{SheetTasks, TaskHeaders, []float64{10, 30, 10, 24, 10, 20, 20, 10, 10, 10, 10, 10, 12, 12, 10}, func(ctx context.Context, add func(...any) error) error {
			return s.taskRows(ctx, o.ID, p, add)
		}},
		{SheetReports, ReportHeaders, []float64{10, 24, 12, 12, 10, 10, 24, 10, 20, 20, 14, 20, 60}, func(ctx context.Context, add func(...any) error) error {
			return s.reportRows(ctx, o.ID, p, add)
		}},
		{SheetDeeds, DeedHeaders, []float64{10, 30, 12, 24, 10, 24, 20, 20}, func(ctx context.Context, add func(...any) error) error {
			return s.deedRows(ctx, o.ID, p, add)
		}},
		{SheetForms, FormHeaders, []float64{10, 30, 10, 24, 10, 20, 10, 10, 10}, func(ctx context.Context, add func(...any) error) error {
			return s.formRows(ctx, o.ID, p, add)
		}},
	} {
		w := wb.Sheet(sh.name, sh.headers, sh.widths, maxSheetRows)
		if err := sh.rows(ctx, w.Add); err != nil {
			return fmt.Errorf("sheet %s: %w", sh.name, err)
		}
		if err := w.Flush(); err != nil {
			return fmt.Errorf("sheet %s: %w", sh.name, err)
		}
	}
	return nil
}

// eachPage calls page until a page reads fewer than pageSize rows; page
// keeps its own position and returns how many rows it read.
func eachPage(ctx context.Context, page func() (n int, err error)) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := page()
		if err != nil || n < pageSize {
			return err
		}
	}
}

var kindLabels = map[org.Kind]string{org.KindCommittee: "党委", org.KindGeneralBranch: "党总支", org.KindBranch: "党支部", org.KindTemporary: "临时党组织"}

var roleLabels = map[org.Role]string{org.RoleMember: "党员", org.RoleSecretary: "书记"}

var memberStatusLabels = map[org.Status]string{org.StatusPending: "待审核", org.StatusApproved: "已通过", org.StatusRejected: "未通过", org.StatusRemoved: "已移除"}

var taskStatusLabels = map[task.Status]string{task.StatusDispatching: "派发中", task.StatusOpen: "进行中", task.StatusCancelled: "已取消"}

var reportStatusLabels = map[string]string{report.StatusOpen: "待签收", report.StatusAcknowledged: "已签收", report.StatusResolved: "已办结"}

var urgencyLabels = map[string]string{report.Urgent: "紧急", report.Normal: "一般"}

var deedStatusLabels = map[string]string{deed.StatusPending: "待审核", deed.StatusApproved: "已审核", deed.StatusRecommended: "已推荐",
	deed.StatusCommended: "已表彰", deed.StatusRejected: "未通过"}

// label is labels[k], or k itself when it has none.
func label[K ~string](labels map[K]string, k K) string {
	if l, ok := labels[k]; ok {
		return l
	}
	return string(k)
}

// when formats a time in the configured zone; "" for none.
func (s *Service) when(t *time.Time) string { return xlsx.Time(t, s.opts.Location) }

func (s *Service) orgRows(ctx context.Context, root int64, add func(...any) error) error {
	after := int64(0)
	return eachPage(ctx, func() (int, error) {
		var rows []org.SubtreeOrg
		err := s.read(ctx, func(db *gorm.DB) (err error) {
			rows, err = org.SubtreeOrgs(db, root, after, pageSize)
			return err
		})
		for _, r := range rows {
			if err := add(r.ID, r.Name, label(kindLabels, r.Kind), deref(r.ParentName), r.Depth, deref(r.Members)); err != nil {
				return 0, err
			}
			after = r.ID
		}
		return len(rows), err
	})
}

// memberRows lists every membership of the subtree, org by org and by id within an org (see
// org.SubtreeMembers).
func (s *Service) memberRows(ctx context.Context, root int64, add func(...any) error) error {
	var afterOrg, afterID int64
	return eachPage(ctx, func() (int, error) {
		var rows []org.SubtreeMember
		err := s.read(ctx, func(db *gorm.DB) (err error) {
			rows, err = org.SubtreeMembers(db, root, afterOrg, afterID, pageSize)
			return err
		})
		for _, r := range rows {
			joined := r.ApprovedAt
			if joined == nil {
				joined = &r.CreatedAt
			}
			err := add(r.Name, r.OrgName, r.Badge.Label(), label(roleLabels, r.Role), label(memberStatusLabels, r.Status),
				user.MaskPhone(r.Phone), s.when(joined))
			if err != nil {
				return 0, err
			}
			afterOrg, afterID = r.OrgID, r.ID
		}
		return len(rows), err
	})
}

func (s *Service) taskRows(ctx context.Context, root int64, p Period, add func(...any) error) error {
	type row struct {
		ID                                                int64
		Assigned, Accepted, DoneOnTime, Overdue, Declined int64
		Title                                             string
		Kind                                              task.Kind
		Status                                            task.Status
		OrgName                                           string
		CreatedAt                                         time.Time
		DueAt                                             *time.Time
	}
	after := int64(0)
	return eachPage(ctx, func() (int, error) {
		// A page of the period's tasks, then the figures of those of them
		// that assigned members of the subtree.
		var ids []int64
		err := s.scan(ctx, &ids, `SELECT id FROM tasks WHERE created_at >= ? AND created_at < ? AND id > ? ORDER BY id LIMIT ?`,
			p.Start, p.End, after, pageSize)
		if err != nil || len(ids) == 0 {
			return 0, err
		}
		after = ids[len(ids)-1]
		var rows []row
		err = s.scan(ctx, &rows, `SELECT x.*, `+contentsec.MaskSQL("t.title", "t.content_hidden")+` AS title, t.kind, t.status, `+org.OrgNameSQL("o")+` AS org_name, t.created_at, t.due_at
			FROM (SELECT a.task_id AS id, `+taskFiguresSQL+` FROM tasks t JOIN assignments a ON a.task_id = t.id
				WHERE t.id IN ? AND a.org_id IN (`+org.SubtreeSQL+`) GROUP BY a.task_id) x
			JOIN tasks t ON t.id = x.id JOIN orgs o ON o.id = t.org_id ORDER BY t.id`,
			append(taskArgs(), ids, root)...)
		if err != nil {
			return 0, err
		}
		var pushes []struct {
			ID                          int64
			Pushed, Unconfirmed, Failed int64
		}
		err = s.scan(ctx, &pushes, `SELECT n.ref_id AS id,
				SUM(CASE WHEN n.delivery = ? THEN 1 ELSE 0 END) AS pushed,
				SUM(CASE WHEN n.delivery = ? THEN 1 ELSE 0 END) AS unconfirmed,
				SUM(CASE WHEN n.delivery = ? THEN 1 ELSE 0 END) AS failed
			FROM notifications n JOIN assignments a ON a.task_id = n.ref_id AND a.user_id = n.user_id
			WHERE n.ref_type = 'task' AND n.kind = ? AND n.ref_id IN ? AND a.org_id IN (`+org.SubtreeSQL+`)
			GROUP BY n.ref_id`,
			notify.DeliverySent, notify.DeliveryUnconfirmed, notify.DeliveryFailed, notify.KindTaskAssigned, ids, root)
		if err != nil {
			return 0, err
		}
		pushed := make(map[int64]int, len(pushes))
		for i, x := range pushes {
			pushed[x.ID] = i
		}
		for _, r := range rows {
			var sent, unconfirmed, failed int64
			if i, ok := pushed[r.ID]; ok {
				sent, unconfirmed, failed = pushes[i].Pushed, pushes[i].Unconfirmed, pushes[i].Failed
			}
			// A push whose worker died mid-send is "unconfirmed", never counted as sent.
			err := add(r.ID, r.Title, r.Kind.Label(), r.OrgName, label(taskStatusLabels, r.Status), s.when(&r.CreatedAt), s.when(r.DueAt),
				r.Assigned, r.Accepted, r.DoneOnTime, r.Overdue, r.Declined, sent, unconfirmed, failed)
			if err != nil {
				return 0, err
			}
		}
		return len(ids), nil
	})
}

func (s *Service) reportRows(ctx context.Context, root int64, p Period, add func(...any) error) error {
	type row struct {
		ID              int64
		OrgName         string
		ReporterName    *string
		Category        string
		Urgency         string
		Status          string
		CurrentOrgName  string
		EscalationLevel int
		CreatedAt       time.Time
		AckedAt         *time.Time
		ResolvedAt      *time.Time
		Content         string
	}
	after := int64(0)
	return eachPage(ctx, func() (int, error) {
		var rows []row
		err := s.scan(ctx, &rows, `SELECT r.id, `+org.OrgNameSQL("o")+` AS org_name, `+org.MemberName+` AS reporter_name, r.category, r.urgency, r.status,
				`+org.OrgNameSQL("co")+` AS current_org_name, r.escalation_level, r.created_at, r.acked_at, r.resolved_at,
				`+contentsec.MaskSQL("r.content", "r.content_hidden")+` AS content
			FROM reports r JOIN orgs o ON o.id = r.org_id JOIN orgs co ON co.id = r.current_org_id
			`+org.JoinMembershipSQL("r.org_id", "r.reporter_id")+`
			WHERE r.org_id IN (`+org.SubtreeSQL+`) AND r.created_at >= ? AND r.created_at < ? AND r.id > ?
			ORDER BY r.id LIMIT ?`, root, p.Start, p.End, after, pageSize)
		for _, r := range rows {
			var ackSecs any
			if r.AckedAt != nil {
				ackSecs = int64(r.AckedAt.Sub(r.CreatedAt).Seconds())
			}
			category := report.Categories[r.Category]
			if category == "" {
				category = r.Category
			}
			err := add(r.ID, r.OrgName, deref(r.ReporterName), category, label(urgencyLabels, r.Urgency), label(reportStatusLabels, r.Status),
				r.CurrentOrgName, r.EscalationLevel, s.when(&r.CreatedAt), s.when(r.AckedAt), ackSecs, s.when(r.ResolvedAt), r.Content)
			if err != nil {
				return 0, err
			}
			after = r.ID
		}
		return len(rows), err
	})
}

func (s *Service) deedRows(ctx context.Context, root int64, p Period, add func(...any) error) error {
	type row struct {
		ID             int64
		Title          string
		MemberName     *string
		OrgName        string
		Status         string
		CurrentOrgName string
		CreatedAt      time.Time
		UpdatedAt      time.Time
	}
	after := int64(0)
	return eachPage(ctx, func() (int, error) {
		var rows []row
		err := s.scan(ctx, &rows, `SELECT d.id, `+contentsec.MaskSQL("d.title", "d.content_hidden")+` AS title, `+org.MemberName+` AS member_name,
				`+org.OrgNameSQL("o")+` AS org_name, d.status, `+org.OrgNameSQL("co")+` AS current_org_name, d.created_at, d.updated_at
			FROM deeds d JOIN orgs o ON o.id = d.org_id JOIN orgs co ON co.id = d.current_org_id
			`+org.JoinMembershipSQL("d.org_id", "d.user_id")+`
			WHERE d.org_id IN (`+org.SubtreeSQL+`) AND ((d.created_at >= ? AND d.created_at < ?) OR (d.updated_at >= ? AND d.updated_at < ?))
				AND d.id > ? ORDER BY d.id LIMIT ?`, root, p.Start, p.End, p.Start, p.End, after, pageSize)
		for _, r := range rows {
			err := add(r.ID, r.Title, deref(r.MemberName), r.OrgName, label(deedStatusLabels, r.Status), r.CurrentOrgName,
				s.when(&r.CreatedAt), s.when(&r.UpdatedAt))
			if err != nil {
				return 0, err
			}
			after = r.ID
		}
		return len(rows), err
	})
}

var formModeLabels = map[string]string{"once": "每人一次", "daily": "每日", "entries": "多次"}

var formStatusLabels = map[string]string{"open": "进行中", "closed": "已关闭"}

func (s *Service) formRows(ctx context.Context, root int64, p Period, add func(...any) error) error {
	type row struct {
		ID                      int64
		Title, Mode, OrgName    string
		Status, DueTime         string
		DueAt                   *time.Time
		Entries, Missed, Alerts int64
	}
	after := int64(0)
	return eachPage(ctx, func() (int, error) {
		var rows []row
		err := s.scan(ctx, &rows, `SELECT f.id, `+contentsec.MaskSQL("f.title", "f.content_hidden")+` AS title, f.mode, `+org.OrgNameSQL("o")+` AS org_name, f.status, f.due_time, f.due_at, x.entries, x.missed, x.alerts
			FROM (SELECT form_id AS id, SUM(e) AS entries, SUM(mi) AS missed, SUM(al) AS alerts FROM (
					SELECT form_id, 1 AS e, 0 AS mi, CASE WHEN alert THEN 1 ELSE 0 END AS al FROM form_entries
					WHERE day >= ? AND day <= ? AND org_id IN (`+org.SubtreeSQL+`) AND form_id > ?
					UNION ALL
					SELECT form_id, 0, 1, 0 FROM form_misses
					WHERE day >= ? AND day <= ? AND org_id IN (`+org.SubtreeSQL+`) AND form_id > ?) u
				GROUP BY form_id ORDER BY form_id LIMIT ?) x
			JOIN forms f ON f.id = x.id JOIN orgs o ON o.id = f.org_id ORDER BY f.id`,
			p.From, p.To, root, after, p.From, p.To, root, after, pageSize)
		for _, r := range rows {
			due := s.when(r.DueAt)
			if r.DueTime != "" {
				due = "每日 " + r.DueTime
			}
			err := add(r.ID, r.Title, label(formModeLabels, r.Mode), r.OrgName, label(formStatusLabels, r.Status), due, r.Entries, r.Missed, r.Alerts)
			if err != nil {
				return 0, err
			}
			after = r.ID
		}
		return len(rows), err
	})
}

// deref is *p, or the zero value for nil.
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
