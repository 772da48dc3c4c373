// Package service holds what every domain service is built with: the
// database, the logger and the one clock. Each domain service embeds a Base,
// so that they all get these the same way and check them in one place.
package service

import (
	"log/slog"
	"time"

	"gorm.io/gorm"
)

// Deps is what every domain service's Options embed: the logger and the
// one clock, which app passes to all of them alike.
type Deps struct {
	// Log is required.
	Log *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Base is the database, logger and clock of a domain service.
type Base struct {
	db    *gorm.DB
	log   *slog.Logger
	clock func() time.Time
}

// New returns the base of the service called name (for the panic message).
// db and d.Log are required.
func New(name string, db *gorm.DB, d Deps) Base {
	if db == nil || d.Log == nil {
		panic(name + ": the database and Options.Log are required")
	}
	now := d.Now
	if now == nil {
		now = time.Now
	}
	return Base{db: db, log: d.Log, clock: now}
}

// DB is the service's database handle.
func (b Base) DB() *gorm.DB { return b.db }

// Log is the service's logger.
func (b Base) Log() *slog.Logger { return b.log }

// Now is the current instant by the service's clock, in UTC.
func (b Base) Now() time.Time { return b.clock().UTC() }
