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
	}},
}
