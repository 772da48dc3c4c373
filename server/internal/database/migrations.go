package database

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"gorm.io/gorm"
)

// Migrations is the schema's history, oldest first. Each migration declares
// the tables as they were at that version, so later changes to domain types
// cannot rewrite history.
var Migrations = []Migration{
	{Version: 1, Name: "create users", Up: func(tx *gorm.DB) error {
		type user struct {
			ID        int64  `gorm:"primaryKey"`
			OpenID    string `gorm:"column:open_id;size:64;not null;uniqueIndex"`
			UnionID   string `gorm:"column:union_id;size:64;not null;default:''"`
			Name      string `gorm:"size:64;not null;default:''"`
			Phone     string `gorm:"size:32;not null;default:''"`
			CreatedAt time.Time
			UpdatedAt time.Time
		}
		return tx.Table("users").AutoMigrate(&user{})
	}}, {Version: 2, Name: "create orgs, memberships, counts, claims and audit", Up: func(tx *gorm.DB) error {
		type org struct {
			ID              int64  `gorm:"primaryKey"`
			ParentID        *int64 `gorm:"index"`
			Name            string `gorm:"size:100;not null"`
			Kind            string `gorm:"size:20;not null"`
			Depth           int    `gorm:"not null"`
			PostLat         *float64
			PostLng         *float64
			PostRadiusM     *int
			PostAddress     string `gorm:"size:200;not null;default:''"`
			EndsAt          *time.Time
			DissolvedAt     *time.Time
			InviteCode      *string `gorm:"size:16;uniqueIndex"`
			InviteExpiresAt *time.Time
			CreatedBy       int64 `gorm:"not null;default:0"`
			CreatedAt       time.Time
			UpdatedAt       time.Time
		}
		type orgClosure struct {
			AncestorID   int64 `gorm:"primaryKey;autoIncrement:false"`
			DescendantID int64 `gorm:"primaryKey;autoIncrement:false;index"`
			Depth        int   `gorm:"not null"`
		}
		type orgCount struct {
			OrgID  int64  `gorm:"primaryKey;autoIncrement:false"`
			Status string `gorm:"primaryKey;size:20"`
			Badge  string `gorm:"primaryKey;size:20"`
			N      int64  `gorm:"not null;default:0"`
		}
		type orgClaim struct {
			ID        int64  `gorm:"primaryKey"`
			OrgID     int64  `gorm:"not null;index"`
			CodeHash  string `gorm:"size:64;not null;uniqueIndex"`
			ExpiresAt time.Time
			UsedAt    *time.Time
			UsedBy    *int64
			CreatedAt time.Time
		}
		type membership struct {
			ID           int64  `gorm:"primaryKey"`
			OrgID        int64  `gorm:"not null;uniqueIndex:ux_membership_org_user;index:ix_membership_org_status,priority:1"`
			UserID       int64  `gorm:"not null;uniqueIndex:ux_membership_org_user;index"`
			Name         string `gorm:"size:64;not null"`
			Badge        string `gorm:"size:20;not null"`
			Role         string `gorm:"size:20;not null"`
			Status       string `gorm:"size:20;not null;index:ix_membership_org_status,priority:2"`
			Reason       string `gorm:"size:200;not null;default:''"`
			SecondedFrom *int64
			BadgeVersion int `gorm:"not null;default:1"`
			CreatedAt    time.Time
			UpdatedAt    time.Time
			ApprovedAt   *time.Time
			EndedAt      *time.Time
		}
		type auditLog struct {
			ID           int64  `gorm:"primaryKey;index:ix_audit_org_id,priority:2"`
			OrgID        int64  `gorm:"not null;index:ix_audit_org_id,priority:1"`
			ActorID      int64  `gorm:"not null"`
			Action       string `gorm:"size:40;not null"`
			TargetUserID *int64
			Detail       string `gorm:"size:1000;not null;default:''"`
			CreatedAt    time.Time
		}
		return createTables(tx, map[string]any{
			"orgs": &org{}, "org_closure": &orgClosure{}, "org_counts": &orgCount{},
			"org_claims": &orgClaim{}, "memberships": &membership{}, "audit_logs": &auditLog{},
		})
	}}, {Version: 3, Name: "create tasks, assignments, checkins and notifications", Up: func(tx *gorm.DB) error {
		type task struct {
			ID                  int64   `gorm:"primaryKey;index:ix_task_org,priority:2"`
			OrgID               int64   `gorm:"not null;index:ix_task_org,priority:1"`
			CreatedBy           int64   `gorm:"not null;uniqueIndex:ux_task_request,priority:1"`
			RequestID           *string `gorm:"size:64;uniqueIndex:ux_task_request,priority:2"`
			Title               string  `gorm:"size:100;not null"`
			Description         string  `gorm:"size:2000;not null;default:''"`
			Kind                string  `gorm:"size:20;not null"`
			TargetBadges        string  `gorm:"size:100;not null;default:''"`
			TargetUserIDs       string  `gorm:"type:text"`
			IncludeSuborgs      bool    `gorm:"not null"`
			LocLat              *float64
			LocLng              *float64
			LocRadiusM          *int
			LocAddress          string `gorm:"size:200;not null;default:''"`
			StartsAt            *time.Time
			DueAt               *time.Time
			RemindBeforeMinutes int    `gorm:"not null;default:0"`
			Status              string `gorm:"size:20;not null;index"`
			AssignedCount       int    `gorm:"not null;default:0"`
			RemindedAt          *time.Time
			OverdueAt           *time.Time
			CancelledAt         *time.Time
			DispatchedAt        *time.Time
			CreatedAt           time.Time `gorm:"index"`
			UpdatedAt           time.Time
		}
		type assignment struct {
			ID                int64  `gorm:"primaryKey"`
			TaskID            int64  `gorm:"not null;uniqueIndex:ux_assignment_task_user,priority:1"`
			UserID            int64  `gorm:"not null;uniqueIndex:ux_assignment_task_user,priority:2;index:ix_assignment_user,priority:1"`
			OrgID             int64  `gorm:"not null"`
			Status            string `gorm:"size:20;not null;index:ix_assignment_user,priority:2"`
			Overdue           bool   `gorm:"not null;default:false"`
			Reason            string `gorm:"size:200;not null;default:''"`
			CheckinLat        *float64
			CheckinLng        *float64
			CheckinAccuracyM  *float64
			CheckinDistanceM  *float64
			CheckinRequestID  *string `gorm:"size:64"`
			CompleteRequestID *string `gorm:"size:64"`
			Note              string  `gorm:"size:1000;not null;default:''"`
			AcceptedAt        *time.Time
			CheckedInAt       *time.Time
			CompletedAt       *time.Time
			CreatedAt         time.Time
			UpdatedAt         time.Time
		}
		type checkin struct {
			ID         int64  `gorm:"primaryKey"`
			UserID     int64  `gorm:"not null;uniqueIndex:ux_checkin_user_org_day,priority:1"`
			OrgID      int64  `gorm:"not null;uniqueIndex:ux_checkin_user_org_day,priority:2;index:ix_checkin_org_day,priority:1"`
			Day        string `gorm:"size:10;not null;uniqueIndex:ux_checkin_user_org_day,priority:3;index:ix_checkin_org_day,priority:2;index:ix_checkin_day"`
			Badge      string `gorm:"size:20;not null"`
			Seconded   bool   `gorm:"not null;default:false"`
			Lat        *float64
			Lng        *float64
			AccuracyM  *float64
			RequestID  string `gorm:"size:64;not null"`
			ClientTime *time.Time
			CreatedAt  time.Time
		}
		type notification struct {
			ID        int64  `gorm:"primaryKey;index:ix_notification_user,priority:2"`
			UserID    int64  `gorm:"not null;uniqueIndex:ux_notification_dedupe,priority:1;index:ix_notification_user,priority:1"`
			Kind      string `gorm:"size:40;not null"`
			Title     string `gorm:"size:100;not null"`
			Body      string `gorm:"size:500;not null;default:''"`
			RefType   string `gorm:"size:20;not null;default:''"`
			RefID     int64  `gorm:"not null;default:0"`
			DedupeKey string `gorm:"size:100;not null;uniqueIndex:ux_notification_dedupe,priority:2"`
			ReadAt    *time.Time
			CreatedAt time.Time
		}
		return createTables(tx, map[string]any{
			"tasks": &task{}, "assignments": &assignment{}, "checkins": &checkin{}, "notifications": &notification{},
		})
	}}, {Version: 4, Name: "push delivery, consent ledger and announcements", Up: func(tx *gorm.DB) error {
		type notification struct {
			ID            int64  `gorm:"primaryKey;index:ix_notification_user,priority:2"`
			UserID        int64  `gorm:"not null;uniqueIndex:ux_notification_dedupe,priority:1;index:ix_notification_user,priority:1"`
			Kind          string `gorm:"size:40;not null;index:ix_notification_ref,priority:3"`
			Title         string `gorm:"size:100;not null"`
			Body          string `gorm:"size:500;not null;default:''"`
			RefType       string `gorm:"size:20;not null;default:'';index:ix_notification_ref,priority:1"`
			RefID         int64  `gorm:"not null;default:0;index:ix_notification_ref,priority:2"`
			DedupeKey     string `gorm:"size:100;not null;uniqueIndex:ux_notification_dedupe,priority:2"`
			Vars          string `gorm:"size:1000;not null;default:''"`
			Delivery      string `gorm:"size:20;not null;default:'queued';index"`
			DeliveryError string `gorm:"size:200;not null;default:''"`
			AttemptedAt   *time.Time
			SentAt        *time.Time
			ReadAt        *time.Time
			CreatedAt     time.Time
		}
		type subscription struct {
			UserID     int64  `gorm:"primaryKey;autoIncrement:false"`
			TemplateID string `gorm:"primaryKey;size:64"`
			Count      int    `gorm:"not null;default:0"`
			UpdatedAt  time.Time
		}
		type announcement struct {
			ID             int64  `gorm:"primaryKey;index:ix_announcement_org,priority:2"`
			OrgID          int64  `gorm:"not null;index:ix_announcement_org,priority:1"`
			CreatedBy      int64  `gorm:"not null"`
			Title          string `gorm:"size:100;not null"`
			Body           string `gorm:"type:text"`
			IncludeSuborgs bool   `gorm:"not null"`
			Status         string `gorm:"size:20;not null"`
			Recipients     int    `gorm:"not null;default:0"`
			CreatedAt      time.Time
		}
		return createTables(tx, map[string]any{
			"notifications": &notification{}, "subscriptions": &subscription{}, "announcements": &announcement{},
		})
	}}, {Version: 5, Name: "reports with escalation, deeds", Up: func(tx *gorm.DB) error {
		type report struct {
			ID              int64  `gorm:"primaryKey"`
			OrgID           int64  `gorm:"not null;index:ix_report_org,priority:1"`
			ReporterID      int64  `gorm:"not null;uniqueIndex:ux_report_request,priority:1;index"`
			RequestID       string `gorm:"size:64;not null;uniqueIndex:ux_report_request,priority:2"`
			Category        string `gorm:"size:20;not null"`
			Urgency         string `gorm:"size:10;not null"`
			Content         string `gorm:"type:text"`
			Lat             *float64
			Lng             *float64
			Address         string `gorm:"size:200;not null;default:''"`
			Status          string `gorm:"size:20;not null;index"`
			CurrentOrgID    int64  `gorm:"not null;index"`
			EscalationLevel int    `gorm:"not null;default:0"`
			NextEscalateAt  *time.Time
			AckedBy         *int64
			AckedAt         *time.Time
			ResolvedBy      *int64
			ResolvedAt      *time.Time
			ResolveNote     string    `gorm:"size:1000;not null;default:''"`
			CreatedAt       time.Time `gorm:"index:ix_report_org,priority:2"`
			UpdatedAt       time.Time
		}
		type reportEvent struct {
			ID        int64  `gorm:"primaryKey"`
			ReportID  int64  `gorm:"not null;index"`
			Kind      string `gorm:"size:20;not null"`
			OrgID     int64  `gorm:"not null;default:0"`
			ActorID   int64  `gorm:"not null;default:0"`
			Level     int    `gorm:"not null;default:0"`
			Note      string `gorm:"size:1000;not null;default:''"`
			CreatedAt time.Time
		}
		type deed struct {
			ID           int64  `gorm:"primaryKey"`
			OrgID        int64  `gorm:"not null;index"`
			UserID       int64  `gorm:"not null;index"`
			NominatedBy  int64  `gorm:"not null"`
			Title        string `gorm:"size:100;not null"`
			Content      string `gorm:"type:text"`
			Links        string `gorm:"size:1000;not null;default:''"`
			Status       string `gorm:"size:20;not null;index"`
			CurrentOrgID int64  `gorm:"not null;index"`
			Reason       string `gorm:"size:200;not null;default:''"`
			CreatedAt    time.Time
			UpdatedAt    time.Time
		}
		type deedEvent struct {
			ID        int64  `gorm:"primaryKey"`
			DeedID    int64  `gorm:"not null;index"`
			Kind      string `gorm:"size:20;not null"`
			OrgID     int64  `gorm:"not null;default:0"`
			ActorID   int64  `gorm:"not null;default:0"`
			Note      string `gorm:"size:1000;not null;default:''"`
			CreatedAt time.Time
		}
		return createTables(tx, map[string]any{
			"reports": &report{}, "report_events": &reportEvent{}, "deeds": &deed{}, "deed_events": &deedEvent{},
		})
	}}, {Version: 6, Name: "push groups: coalesced report pushes", Up: func(tx *gorm.DB) error {
		// Plain statements that read the same on SQLite, PostgreSQL and MySQL.
		if err := tx.Exec("ALTER TABLE notifications ADD COLUMN push_group VARCHAR(60) NOT NULL DEFAULT ''").Error; err != nil {
			return err
		}
		return tx.Exec("CREATE INDEX ix_notification_push_group ON notifications (user_id, push_group)").Error
	}}, {Version: 7, Name: "close the open assignments of memberships that ended", Up: func(tx *gorm.DB) error {
		// From this version on, ending a membership closes its open
		// assignments as removed; this closes those of memberships that
		// ended before (removed, rejected, or pending again after a removal).
		return tx.Exec(`UPDATE assignments SET status = 'removed'
			WHERE status IN ('assigned', 'accepted', 'checked_in') AND NOT EXISTS (
				SELECT 1 FROM memberships m WHERE m.org_id = assignments.org_id AND m.user_id = assignments.user_id AND m.status = 'approved')`).Error
	}}, {Version: 8, Name: "screening forms and their entries", Up: func(tx *gorm.DB) error {
		type form struct {
			ID                  int64   `gorm:"primaryKey;index:ix_form_org,priority:2"`
			OrgID               int64   `gorm:"not null;index:ix_form_org,priority:1"`
			CreatedBy           int64   `gorm:"not null;uniqueIndex:ux_form_request,priority:1"`
			RequestID           *string `gorm:"size:64;uniqueIndex:ux_form_request,priority:2"`
			Title               string  `gorm:"size:100;not null"`
			Description         string  `gorm:"size:2000;not null;default:''"`
			Mode                string  `gorm:"size:10;not null"`
			Target              string  `gorm:"type:text"`
			IncludeSuborgs      bool    `gorm:"not null"`
			DueAt               *time.Time
			DueTime             string `gorm:"size:5;not null;default:''"`
			RemindBeforeMinutes int    `gorm:"not null;default:0"`
			RemindedOn          string `gorm:"size:10;not null;default:''"`
			Fields              string `gorm:"type:text"`
			Status              string `gorm:"size:10;not null;index"`
			ClosedAt            *time.Time
			CreatedAt           time.Time
			UpdatedAt           time.Time
		}
		type formEntry struct {
			ID         int64  `gorm:"primaryKey;index:ix_form_entry_form,priority:2"`
			FormID     int64  `gorm:"not null;uniqueIndex:ux_form_entry_slot,priority:1;uniqueIndex:ux_form_entry_request,priority:1;index:ix_form_entry_form,priority:1"`
			UserID     int64  `gorm:"not null;uniqueIndex:ux_form_entry_slot,priority:2;uniqueIndex:ux_form_entry_request,priority:2;index"`
			Slot       string `gorm:"size:80;not null;uniqueIndex:ux_form_entry_slot,priority:3"`
			RequestID  string `gorm:"size:64;not null;uniqueIndex:ux_form_entry_request,priority:3"`
			OrgID      int64  `gorm:"not null;index"`
			Day        string `gorm:"size:10;not null;index"`
			Answers    string `gorm:"type:text"`
			Alert      bool   `gorm:"not null;default:false"`
			ReportID   *int64
			Version    int `gorm:"not null;default:1"`
			ClientTime *time.Time
			CreatedAt  time.Time
			UpdatedAt  time.Time
		}
		type formEntryVersion struct {
			ID        int64  `gorm:"primaryKey"`
			EntryID   int64  `gorm:"not null;uniqueIndex:ux_form_entry_version,priority:1"`
			Version   int    `gorm:"not null;uniqueIndex:ux_form_entry_version,priority:2"`
			Answers   string `gorm:"type:text"`
			Alert     bool   `gorm:"not null;default:false"`
			CreatedAt time.Time
		}
		return createTables(tx, map[string]any{
			"forms": &form{}, "form_entries": &formEntry{}, "form_entry_versions": &formEntryVersion{},
		})
	}}, {Version: 9, Name: "form misses; the form export reads entries by day", Up: func(tx *gorm.DB) error {
		// Plain statements that read the same on SQLite, PostgreSQL and MySQL.
		for _, stmt := range []string{
			"ALTER TABLE forms ADD COLUMN missed_on VARCHAR(10) NOT NULL DEFAULT ''",
			"CREATE INDEX ix_form_entry_form_day ON form_entries (form_id, day, id)",
		} {
			if err := tx.Exec(stmt).Error; err != nil {
				return err
			}
		}
		type formMiss struct {
			ID        int64  `gorm:"primaryKey"`
			FormID    int64  `gorm:"not null;uniqueIndex:ux_form_miss,priority:1"`
			UserID    int64  `gorm:"not null;uniqueIndex:ux_form_miss,priority:2"`
			Day       string `gorm:"size:10;not null;uniqueIndex:ux_form_miss,priority:3;index:ix_form_miss_org_day,priority:2"`
			OrgID     int64  `gorm:"not null;index:ix_form_miss_org_day,priority:1"`
			CreatedAt time.Time
		}
		return tx.Table("form_misses").AutoMigrate(&formMiss{})
	}}, {Version: 10, Name: "media: uploaded photos and what they are attached to", Up: func(tx *gorm.DB) error {
		type media struct {
			ID          int64  `gorm:"primaryKey"`
			UserID      int64  `gorm:"not null;index"`
			Key         string `gorm:"column:object_key;size:200;not null"`
			ThumbKey    string `gorm:"size:200;not null"`
			ContentType string `gorm:"size:40;not null"`
			Bytes       int64  `gorm:"not null"`
			Width       int    `gorm:"not null"`
			Height      int    `gorm:"not null"`
			SHA256      string `gorm:"column:sha256;size:64;not null"`
			CheckState  string `gorm:"size:10;not null;default:'pass'"`
			AttachedAt  *time.Time
			CreatedAt   time.Time `gorm:"not null;index"`
		}
		type mediaLink struct {
			ID        int64  `gorm:"primaryKey"`
			MediaID   int64  `gorm:"not null;uniqueIndex"`
			OwnerKind string `gorm:"size:20;not null;index:ix_media_link_owner,priority:1"`
			OwnerID   int64  `gorm:"not null;index:ix_media_link_owner,priority:2"`
			Position  int    `gorm:"not null;default:0"`
			CreatedAt time.Time
		}
		if err := tx.Table("media").AutoMigrate(&media{}); err != nil {
			return err
		}
		return tx.Table("media_links").AutoMigrate(&mediaLink{})
	}}, {Version: 11, Name: "form totals: running sums of each form's entries by day and org, filled from the entries", Up: func(tx *gorm.DB) error {
		type formTotal struct {
			FormID   int64    `gorm:"primaryKey;autoIncrement:false"`
			Day      string   `gorm:"primaryKey;size:10"`
			OrgID    int64    `gorm:"primaryKey;autoIncrement:false"`
			FieldKey string   `gorm:"primaryKey;size:32"`
			Choice   string   `gorm:"primaryKey;size:200"`
			N        int64    `gorm:"not null;default:0"`
			Alerts   int64    `gorm:"not null;default:0"`
			Total    float64  `gorm:"not null;default:0"`
			Lo       *float64 `gorm:""`
			Hi       *float64 `gorm:""`
		}
		if err := tx.Table("form_totals").AutoMigrate(&formTotal{}); err != nil {
			return err
		}
		return fillFormTotals(tx)
	}},
	{Version: 12, Name: "content security: flagged and hidden texts, and the checks still to make", Up: func(tx *gorm.DB) error {
		// Plain statements that read the same on SQLite, PostgreSQL and MySQL.
		for _, table := range []string{"reports", "deeds", "announcements", "tasks", "orgs", "forms", "form_entries", "memberships"} {
			for _, col := range []string{"content_risky", "content_hidden"} {
				if err := tx.Exec("ALTER TABLE " + table + " ADD COLUMN " + col + " BOOLEAN NOT NULL DEFAULT FALSE").Error; err != nil {
					return err
				}
			}
		}
		type contentCheck struct {
			ID        int64     `gorm:"primaryKey"`
			Kind      string    `gorm:"size:20;not null;index:ix_content_check_ref,priority:1"`
			RefID     int64     `gorm:"not null;index:ix_content_check_ref,priority:2"`
			Field     string    `gorm:"size:40;not null;default:''"`
			AuthorID  int64     `gorm:"not null"`
			Text      string    `gorm:"type:text"`
			TraceID   *string   `gorm:"size:128;uniqueIndex"`
			Status    string    `gorm:"size:10;not null;index:ix_content_check_due,priority:1"`
			Attempts  int       `gorm:"not null;default:0"`
			Label     int       `gorm:"not null;default:0"`
			NextAt    time.Time `gorm:"not null;index:ix_content_check_due,priority:2"`
			CheckedAt *time.Time
			CreatedAt time.Time
			UpdatedAt time.Time
		}
		return tx.Table("content_checks").AutoMigrate(&contentCheck{})
	}},
	{Version: 13, Name: "form totals folded in the background: entries not yet counted, whole-form rows, fewer entry indexes", Up: func(tx *gorm.DB) error {
		// An entry's totals are no longer written with it: its id waits in
		// form_pending (written with the entry) until a fold adds it to
		// form_totals and deletes it, in one transaction.
		type formPending struct {
			FormID  int64 `gorm:"primaryKey;autoIncrement:false"`
			EntryID int64 `gorm:"primaryKey;autoIncrement:false"`
		}
		if err := tx.Table("form_pending").AutoMigrate(&formPending{}); err != nil {
			return err
		}
		// org_id 0 holds each form and day's totals over all its orgs, so
		// that the summary of a whole form reads a few rows.
		if err := tx.Exec(`INSERT INTO form_totals (form_id, day, org_id, field_key, choice, n, alerts, total, lo, hi)
			SELECT form_id, day, 0, field_key, choice, SUM(n), SUM(alerts), SUM(total), MIN(lo), MAX(hi)
			FROM form_totals WHERE org_id <> 0 GROUP BY form_id, day, field_key, choice`).Error; err != nil {
			return err
		}
		// The org's figures read entries by org and day range (stats); no
		// query reads them by user alone, by org alone or by day alone.
		for _, name := range []string{"idx_form_entries_user_id", "idx_form_entries_org_id", "idx_form_entries_day"} {
			if err := tx.Migrator().DropIndex("form_entries", name); err != nil {
				return err
			}
		}
		return tx.Exec("CREATE INDEX ix_form_entry_org_day ON form_entries (org_id, day)").Error
	}},
	{Version: 14, Name: "check-ins: drop the index by day alone, which only the board's rebuild read", Up: func(tx *gorm.DB) error {
		// Every check-in wrote it; the board's rebuild now reads a day
		// org by org through ix_checkin_org_day.
		return tx.Migrator().DropIndex("checkins", "ix_checkin_day")
	}},
}

// fillFormTotals sums up the entries written before version 11 into
// form_totals, a form and a day at a time, as the form package did then: a
// row per day and org for the entries and alerts, one per answered field
// (with the sum, least and greatest of a number or temperature), one per
// option chosen of a choice or multi field.
func fillFormTotals(tx *gorm.DB) error {
	var forms []struct {
		ID     int64
		Fields string
	}
	if err := tx.Table("forms").Select("id, fields").Order("id").Scan(&forms).Error; err != nil {
		return err
	}
	type key struct {
		org          int64
		field, value string
	}
	type sums struct {
		n, alerts int64
		total     float64
		lo, hi    *float64
	}
	for _, f := range forms {
		var fields []struct{ Key, Type string }
		if err := json.Unmarshal([]byte(f.Fields), &fields); err != nil {
			return fmt.Errorf("form %d: fields: %w", f.ID, err)
		}
		day, acc := "", map[key]*sums{}
		flush := func() error {
			keys := make([]key, 0, len(acc))
			for k := range acc {
				keys = append(keys, k)
			}
			sort.Slice(keys, func(i, j int) bool {
				a, b := keys[i], keys[j]
				return a.org < b.org || a.org == b.org && (a.field < b.field || a.field == b.field && a.value < b.value)
			})
			rows := make([][]any, len(keys))
			for i, k := range keys {
				s := acc[k]
				rows[i] = []any{f.ID, day, k.org, k.field, k.value, s.n, s.alerts, s.total, s.lo, s.hi}
			}
			for len(rows) > 0 {
				n := min(len(rows), 500)
				if err := AddUp(tx, "form_totals", []string{"form_id", "day", "org_id", "field_key", "choice"},
					[]string{"n", "alerts", "total"}, []string{"lo"}, []string{"hi"}, rows[:n]); err != nil {
					return err
				}
				rows = rows[n:]
			}
			clear(acc)
			return nil
		}
		add := func(k key, alerts int64, x *float64) {
			s := acc[k]
			if s == nil {
				s = &sums{}
				acc[k] = s
			}
			s.n++
			s.alerts += alerts
			if x != nil {
				s.total += *x
				if s.lo == nil || *x < *s.lo {
					s.lo = x
				}
				if s.hi == nil || *x > *s.hi {
					s.hi = x
				}
			}
		}
		for afterDay, afterID := "", int64(0); ; {
			var batch []struct {
				ID      int64
				OrgID   int64
				Day     string
				Answers string
				Alert   bool
			}
			if err := tx.Table("form_entries").Select("id, org_id, day, answers, alert").
				Where("form_id = ? AND (day > ? OR (day = ? AND id > ?))", f.ID, afterDay, afterDay, afterID).
				Order("day, id").Limit(5000).Scan(&batch).Error; err != nil {
				return err
			}
			for _, e := range batch {
				if e.Day != day {
					if err := flush(); err != nil {
						return err
					}
					day = e.Day
				}
				var alerts int64
				if e.Alert {
					alerts = 1
				}
				add(key{org: e.OrgID}, alerts, nil)
				var answers map[string]json.RawMessage
				if err := json.Unmarshal([]byte(e.Answers), &answers); err != nil {
					return fmt.Errorf("form entry %d: %w", e.ID, err)
				}
				for _, fd := range fields {
					raw, ok := answers[fd.Key]
					if !ok {
						continue
					}
					var x *float64
					var values []string
					switch fd.Type {
					case "number", "temperature":
						var v float64
						if json.Unmarshal(raw, &v) == nil {
							x = &v
						}
					case "choice":
						var v string
						if json.Unmarshal(raw, &v) == nil {
							values = []string{v}
						}
					case "multi":
						_ = json.Unmarshal(raw, &values) // a list of options
					}
					add(key{org: e.OrgID, field: fd.Key}, 0, x)
					for _, v := range values {
						add(key{org: e.OrgID, field: fd.Key, value: v}, 0, nil)
					}
				}
				afterDay, afterID = e.Day, e.ID
			}
			if len(batch) < 5000 {
				break
			}
		}
		if err := flush(); err != nil {
			return err
		}
	}
	return nil
}

// createTables creates each table of models, by name, from its model
// (gorm's AutoMigrate).
func createTables(tx *gorm.DB, models map[string]any) error {
	for name, model := range models {
		if err := tx.Table(name).AutoMigrate(model); err != nil {
			return err
		}
	}
	return nil
}
