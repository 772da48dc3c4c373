package badge

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/skip2/go-qrcode"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/org"
)

// Memberships is what the badge needs from the org service.
type Memberships interface {
	org.Badger
	Active(ctx context.Context, membershipID int64, version int) (org.MembershipView, bool, error)
}

var _ Memberships = (*org.Service)(nil)

// Service issues and verifies badges.
type Service struct {
	members   Memberships
	signer    *Signer
	ttl       time.Duration
	verifyURL string
	now       func() time.Time
}

// NewService returns the badge service; now is the clock that issues and
// checks the tokens' expiry (time.Now when nil).
func NewService(members Memberships, signer *Signer, ttl time.Duration, verifyURL string, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{members: members, signer: signer, ttl: ttl, verifyURL: verifyURL, now: now}
}

// Badge is a member's badge as their phone shows it.
type Badge struct {
	Name            string    `json:"name"`
	OrgName         string    `json:"org_name"`
	Badge           org.Badge `json:"badge"`
	BadgeLabel      string    `json:"badge_label"`
	BadgeNo         string    `json:"badge_no"`
	Status          string    `json:"status"`
	VerifyToken     string    `json:"verify_token"`
	VerifyExpiresAt time.Time `json:"verify_expires_at"`
	VerifyURL       string    `json:"verify_url"`
}

// BadgeNo is the number printed on a badge.
func BadgeNo(membershipID int64) string { return fmt.Sprintf("XF%08d", membershipID) }

// Mine returns the signed-in user's badge, with a fresh verification token,
// for their membership in orgID (0 = their home branch).
func (s *Service) Mine(ctx context.Context, userID, orgID int64) (Badge, error) {
	m, err := s.members.Badge(ctx, userID, orgID)
	if err != nil {
		return Badge{}, err
	}
	exp := s.now().Add(s.ttl).Truncate(time.Second).UTC()
	tok := s.signer.Sign(Claims{MembershipID: m.ID, ExpiresAt: exp, BadgeVersion: m.BadgeVersion})
	return Badge{
		Name: m.Name, OrgName: m.OrgName, Badge: m.Badge, BadgeLabel: m.Badge.Label(), BadgeNo: BadgeNo(m.ID),
		Status: string(m.Status), VerifyToken: tok, VerifyExpiresAt: exp, VerifyURL: s.link(tok),
	}, nil
}

func (s *Service) link(token string) string {
	sep := "?"
	if strings.Contains(s.verifyURL, "?") {
		sep = "&"
	}
	return s.verifyURL + sep + "token=" + url.QueryEscape(token)
}

// QR returns a PNG QR code of the badge's verification link.
func (s *Service) QR(ctx context.Context, userID, orgID int64) (_ []byte, err error) {
	defer apperr.Annotate(&err, "badge.QR(%d, %d)", userID, orgID)
	b, err := s.Mine(ctx, userID, orgID)
	if err != nil {
		return nil, err
	}
	png, err := qrcode.Encode(b.VerifyURL, qrcode.Medium, 320)
	if err != nil {
		return nil, err
	}
	return png, nil
}

// Verdict is what a verifier sees: a masked name and the badge, or why not.
type Verdict struct {
	Valid      bool   `json:"valid"`
	Reason     string `json:"reason,omitempty"`
	NameMasked string `json:"name_masked,omitempty"`
	OrgName    string `json:"org_name,omitempty"`
	BadgeLabel string `json:"badge_label,omitempty"`
	BadgeNo    string `json:"badge_no,omitempty"`
}

// Verify checks a token: its signature, its expiry, and that the membership
// still stands at the same badge — a removed, rejected or changed badge is
// "revoked" at once.
func (s *Service) Verify(ctx context.Context, token string) (Verdict, error) {
	c, err := s.signer.Parse(token, s.now())
	switch {
	case errors.Is(err, ErrExpired):
		return Verdict{Reason: "expired"}, nil
	case err != nil:
		return Verdict{Reason: "invalid"}, nil
	}
	m, ok, err := s.members.Active(ctx, c.MembershipID, c.BadgeVersion)
	if err != nil {
		return Verdict{}, err
	}
	if !ok {
		return Verdict{Reason: "revoked"}, nil
	}
	return Verdict{Valid: true, NameMasked: MaskName(m.Name), OrgName: m.OrgName, BadgeLabel: m.Badge.Label(), BadgeNo: BadgeNo(m.ID)}, nil
}

// MaskName hides the middle of a name: 张三 → 张*, 张小明 → 张*明, 欧阳小明 → 欧**明.
func MaskName(name string) string {
	r := []rune(name)
	switch len(r) {
	case 0:
		return ""
	case 1:
		return "*"
	case 2:
		return string(r[0]) + "*"
	default:
		out := []rune{r[0]}
		for range len(r) - 2 {
			out = append(out, '*')
		}
		return string(append(out, r[len(r)-1]))
	}
}
