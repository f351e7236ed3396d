package suggest

import (
	"reflect"
	"testing"
)

func TestNearest(t *testing.T) {
	privs := []string{"VirtualMachine.Interact.PowerOn", "VirtualMachine.Interact.PowerOff", "Global.Settings", "System.Read"}
	cases := []struct {
		have string
		want []string
	}{
		{"VirtualMachine.Interact.PowerOm", []string{"VirtualMachine.Interact.PowerOn", "VirtualMachine.Interact.PowerOff"}},
		{"system.read", []string{"System.Read"}},                                                      // case-insensitive: distance 0
		{"Global.Setings", []string{"Global.Settings"}},                                               // one edit
		{"Datastore.Browse", []string{}},                                                              // nothing near
		{"Interact", []string{"VirtualMachine.Interact.PowerOn", "VirtualMachine.Interact.PowerOff"}}, // contained, nearest first
	}
	for _, c := range cases {
		got := Nearest(c.have, privs, 3)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("Nearest(%q) = %q, want %q", c.have, got, c.want)
		}
	}
}

func TestNearestBoundary(t *testing.T) {
	// "abcdef" (6 letters) allows max(2, 6/3) = 2 edits: "abcxyf" is 2 away, "axxxxf" is 4.
	got := Nearest("abcdef", []string{"abcxyf", "axxxxf"}, 3)
	if !reflect.DeepEqual(got, []string{"abcxyf"}) {
		t.Errorf("got %q", got)
	}
	if got := Nearest("ab", []string{"abcd"}, 3); len(got) != 1 {
		t.Errorf("two edits away is near: got %q", got)
	}
	if got := Nearest("ab", []string{"abcde"}, 3); len(got) != 0 {
		t.Errorf("three edits away from a 2-letter name is not near: got %q", got)
	}
}

func TestPhrase(t *testing.T) {
	if got := Phrase("alicee", []string{"alice", "bob"}, 10); got != `did you mean "alice"?` {
		t.Errorf("got %q", got)
	}
	if got := Phrase("zzzzzz", []string{"bob", "alice"}, 10); got != "valid values: alice, bob" {
		t.Errorf("got %q", got)
	}
	if got := Phrase("zzzzzz", []string{"bob", "alice"}, 1); got != "" {
		t.Errorf("got %q", got)
	}
}
