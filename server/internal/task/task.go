// Package task lets secretaries assign tasks to members by badge or by name
// and lets members accept, check in at the post and complete them. Fan-out,
// reminders and overdue marking run as background jobs.
package task

import (
	"math"
	"strconv"
	"strings"
	"time"

	"xianfeng/server/internal/org"
)

// Kind is what sort of work a task is.
type Kind string

// Task kinds.
const (
	KindDuty      Kind = "duty"      // 值守
	KindScreening Kind = "screening" // 排查
	KindPublicity Kind = "publicity" // 宣传
	KindReport    Kind = "report"    // 信息收集
	KindOther     Kind = "other"     // 其他
)

// Label is the kind's Chinese name; "" for an unknown kind.
func (k Kind) Label() string {
	return map[Kind]string{KindDuty: "值守", KindScreening: "排查", KindPublicity: "宣传", KindReport: "信息收集", KindOther: "其他"}[k]
}

// Status is where a task stands.
type Status string

// Task statuses.
const (
	StatusDispatching Status = "dispatching" // assignments are being created
	StatusOpen        Status = "open"
	StatusCancelled   Status = "cancelled"
)

// AStatus is where an assignment stands.
type AStatus string

// Assignment statuses. Overdue is a flag beside the status, so an overdue
// assignment keeps its place and can still be completed late.
const (
	AAssigned  AStatus = "assigned"
	AAccepted  AStatus = "accepted"
	ADeclined  AStatus = "declined"
	ACheckedIn AStatus = "checked_in"
	ACompleted AStatus = "completed"
	ACancelled AStatus = "cancelled"
	// ARemoved closes an assignment left open when its membership ended
	// (the member was removed, or their temporary org dissolved): it counts
	// as neither done nor missed.
	ARemoved AStatus = "removed"
)

// activeStatuses are the assignments still to be done.
var activeStatuses = []AStatus{AAssigned, AAccepted, ACheckedIn}

// Task is a piece of work for the members of an org.
type Task struct {
	ID                  int64
	OrgID               int64
	CreatedBy           int64
	RequestID           *string
	Title               string
	Description         string
	Kind                Kind
	TargetBadges        string // comma-separated badges
	TargetUserIDs       string // comma-separated user ids
	IncludeSuborgs      bool
	LocLat              *float64
	LocLng              *float64
	LocRadiusM          *int
	LocAddress          string
	StartsAt            *time.Time
	DueAt               *time.Time
	RemindBeforeMinutes int
	Status              Status
	AssignedCount       int
	RemindedAt          *time.Time
	OverdueAt           *time.Time
	CancelledAt         *time.Time
	DispatchedAt        *time.Time
	// ContentRisky and ContentHidden: a later content check found the
	// title or description risky; the task is listed for its creator only.
	ContentRisky  bool
	ContentHidden bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// TableName is the tasks table.
func (Task) TableName() string { return "tasks" }

// Badges returns the badges the task targets.
func (t Task) Badges() []org.Badge {
	var out []org.Badge
	for _, s := range strings.Split(t.TargetBadges, ",") {
		if s != "" {
			out = append(out, org.Badge(s))
		}
	}
	return out
}

// UserIDs returns the ids of the users the task targets by name.
func (t Task) UserIDs() []int64 {
	var out []int64
	for _, s := range strings.Split(t.TargetUserIDs, ",") {
		if id, err := strconv.ParseInt(s, 10, 64); err == nil {
			out = append(out, id)
		}
	}
	return out
}

// Location returns where the task is, or nil.
func (t Task) Location() *Location {
	if t.LocLat == nil || t.LocLng == nil || t.LocRadiusM == nil {
		return nil
	}
	return &Location{Lat: *t.LocLat, Lng: *t.LocLng, RadiusM: *t.LocRadiusM, Address: t.LocAddress}
}

// Location is a circle on the map where a task is done (a checkpoint, a
// ward, a street): the same circle, under the same rule, as an org's post.
type Location = org.Post

// Assignment is one member's part in a task.
type Assignment struct {
	ID                int64
	TaskID            int64
	UserID            int64
	OrgID             int64
	Status            AStatus
	Overdue           bool
	Reason            string
	CheckinLat        *float64
	CheckinLng        *float64
	CheckinAccuracyM  *float64
	CheckinDistanceM  *float64
	CheckinRequestID  *string
	CompleteRequestID *string
	Note              string
	AcceptedAt        *time.Time
	CheckedInAt       *time.Time
	CompletedAt       *time.Time
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// TableName is the assignments table.
func (Assignment) TableName() string { return "assignments" }

// accuracyCap bounds how much a phone's reported GPS inaccuracy may widen a
// task's area: a claimed accuracy of 5 km must not let anyone in.
const accuracyCap = 100.0

// distanceM is the great-circle distance in metres between two points.
func distanceM(lat1, lng1, lat2, lng2 float64) float64 {
	const r = 6371000.0
	rad := math.Pi / 180
	dLat, dLng := (lat2-lat1)*rad, (lng2-lng1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(a)))
}
