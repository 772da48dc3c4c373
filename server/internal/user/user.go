// Package user keeps the people who log in with WeChat: one row per openid,
// with the phone number they bound.
package user

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"xianfeng/server/internal/apperr"
)

// User is a person who logged in with WeChat.
type User struct {
	ID        int64
	OpenID    string `gorm:"column:open_id"`
	UnionID   string `gorm:"column:union_id"`
	Name      string
	Phone     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// PhoneMasked returns the phone number with its middle digits hidden
// ("138****8000"), or "" when none is bound. Only this form leaves the server.
func (u User) PhoneMasked() string { return MaskPhone(u.Phone) }

// MaskPhone hides all but the first three and last four digits of a number.
func MaskPhone(p string) string {
	r := []rune(p)
	switch {
	case len(r) == 0:
		return ""
	case len(r) <= 7:
		return string(r[:1]) + "****" + string(r[len(r)-1:])
	default:
		return string(r[:3]) + "****" + string(r[len(r)-4:])
	}
}

// ErrNotFound is returned when no user has the given id.
var ErrNotFound = apperr.New(apperr.KindNotFound, "user_not_found", "用户不存在")

// Store reads and writes users in the database.
type Store struct{ db *gorm.DB }

// NewStore returns a store on db.
func NewStore(db *gorm.DB) *Store { return &Store{db: db} }

// Get returns the user with the given id, or ErrNotFound.
func (s *Store) Get(ctx context.Context, id int64) (_ User, err error) {
	defer apperr.Annotate(&err, "user.Get(%d)", id)
	// A plain statement: this runs on every GET /me.
	var us []User
	if err := s.db.WithContext(ctx).Raw("SELECT * FROM users WHERE id = ?", id).Scan(&us).Error; err != nil {
		return User{}, err
	}
	if len(us) == 0 {
		return User{}, ErrNotFound
	}
	return us[0], nil
}

// FindOrCreate returns the user with the given openid, creating it on the
// first login. Concurrent first logins of one person create one row: the
// loser of the insert race reads the winner's row. created reports whether
// this call made the row.
func (s *Store) FindOrCreate(ctx context.Context, openID, unionID string) (u User, created bool, err error) {
	defer apperr.Annotate(&err, "user.FindOrCreate")
	db := s.db.WithContext(ctx)
	err = db.Take(&u, "open_id = ?", openID).Error
	if err == nil {
		if unionID != "" && u.UnionID != unionID {
			u.UnionID = unionID
			if err := db.Model(&u).Update("union_id", unionID).Error; err != nil {
				return User{}, false, err
			}
		}
		return u, false, nil
	}
	if !errors.Is(err, gorm.ErrRecordNotFound) {
		return User{}, false, err
	}
	u = User{OpenID: openID, UnionID: unionID}
	err = db.Create(&u).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		u = User{}
		if err := db.Take(&u, "open_id = ?", openID).Error; err != nil {
			return User{}, false, err
		}
		return u, false, nil
	}
	if err != nil {
		return User{}, false, err
	}
	return u, true, nil
}

// SetPhone binds a phone number to the user.
func (s *Store) SetPhone(ctx context.Context, id int64, phone string) (_ User, err error) {
	defer apperr.Annotate(&err, "user.SetPhone(%d)", id)
	res := s.db.WithContext(ctx).Model(&User{}).Where("id = ?", id).Updates(map[string]any{"phone": phone, "updated_at": s.db.NowFunc()})
	if res.Error != nil {
		return User{}, res.Error
	}
	if res.RowsAffected == 0 {
		return User{}, ErrNotFound
	}
	return s.Get(ctx, id)
}
