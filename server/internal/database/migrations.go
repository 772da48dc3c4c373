package database

import (
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
		for name, model := range map[string]any{
			"orgs": &org{}, "org_closure": &orgClosure{}, "org_counts": &orgCount{},
			"org_claims": &orgClaim{}, "memberships": &membership{}, "audit_logs": &auditLog{},
		} {
			if err := tx.Table(name).AutoMigrate(model); err != nil {
				return err
			}
		}
		return nil
	}},
}
