// Package service holds what every domain service is built with: the
// database, the logger and the one clock. Each domain service embeds a Base,
// so that they all get these the same way and check them in one place.
package service

import (
	"log/slog"
	"time"

	"gorm.io/gorm"
)

// Base is the database, logger and clock of a domain service.
type Base struct {
	db    *gorm.DB
	log   *slog.Logger
	clock func() time.Time
}

// New returns the base of the service called name (for the panic message).
// db and log are required; now is the clock, time.Now when nil.
func New(name string, db *gorm.DB, log *slog.Logger, now func() time.Time) Base {
	if db == nil || log == nil {
		panic(name + ": the database and Options.Log are required")
	}
	if now == nil {
		now = time.Now
	}
	return Base{db: db, log: log, clock: now}
}

// DB is the service's database handle.
func (b Base) DB() *gorm.DB { return b.db }

// Log is the service's logger.
func (b Base) Log() *slog.Logger { return b.log }

// Now is the current instant by the service's clock, in UTC.
func (b Base) Now() time.Time { return b.clock().UTC() }
