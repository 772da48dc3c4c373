package pii_test

import (
	"errors"
	"strings"
	"testing"

	"xianfeng/server/internal/pii"
)

const (
	oldKey = "old-key-old-key-old-key-old-key-old-key-"
	newKey = "new-key-new-key-new-key-new-key-new-key-"
)

func TestSealedValuesOpenWithTheirKeyAfterARotation(t *testing.T) {
	before, err := pii.New(oldKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := before.Seal("11010519491231002X")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "11010519491231002X") || !pii.Sealed(sealed) {
		t.Fatalf("sealed = %q, want a ciphertext", sealed)
	}
	after, err := pii.New(newKey, []string{oldKey})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := after.Open(sealed); err != nil || got != "11010519491231002X" {
		t.Errorf("after the rotation Open = %q, %v", got, err)
	}
	if after.Current(sealed) {
		t.Error("a value sealed with the old key counts as current")
	}
	forgot, _ := pii.New(newKey, nil)
	if _, err := forgot.Open(sealed); !errors.Is(err, pii.ErrUnknownKey) {
		t.Errorf("without the old key Open = %v, want ErrUnknownKey", err)
	}
	tampered := sealed[:len(sealed)-2] + "AA"
	if _, err := after.Open(tampered); err == nil {
		t.Error("a tampered ciphertext opened")
	}
}

func TestMask(t *testing.T) {
	if got := pii.Mask("37020219800101123X", 4); got != "3702**********123X" {
		t.Errorf("Mask(id) = %q", got)
	}
	if got := pii.Mask("13912345678", 3); got != "139****5678" {
		t.Errorf("Mask(phone) = %q", got)
	}
}
