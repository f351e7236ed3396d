package vsphere

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

type testRecord struct {
	Name string `json:"name"`
	N    int    `json:"n"`
}

// A record reads back as written, with its format; a value written before the store existed (no
// envelope) reads as format 1.
func TestRecordFormats(t *testing.T) {
	raw, err := EncodeRecord("a", 2, testRecord{Name: "x", N: 1})
	if err != nil {
		t.Fatal(err)
	}
	var got testRecord
	if f, err := DecodeRecord(raw, &got); err != nil || f != 2 || got != (testRecord{Name: "x", N: 1}) {
		t.Fatalf("DecodeRecord(%s) = %d, %+v, %v", raw, f, got, err)
	}
	var legacy testRecord
	if f, err := DecodeRecord(`{"name":"old","n":7}`, &legacy); err != nil || f != legacyFormat || legacy.Name != "old" || legacy.N != 7 {
		t.Fatalf("legacy value read as %d, %+v, %v", f, legacy, err)
	}
	if f, err := DecodeRecord("", &legacy); err != nil || f != 0 {
		t.Fatalf("no value read as format %d, %v", f, err)
	}
	if _, err := DecodeRecord("{not json", &legacy); err == nil {
		t.Fatal("a value that is not JSON was read")
	}
}

// A record beyond what one value may hold is refused with a clear error, not written; one that
// just fits is written.
func TestRecordSizeLimit(t *testing.T) {
	overhead := len(`{"format":2,"data":{"name":"","n":0}}`)
	if _, err := EncodeRecord("a", 2, testRecord{Name: strings.Repeat("x", MaxRecordBytes-overhead)}); err != nil {
		t.Fatalf("a record of exactly %d bytes was refused: %v", MaxRecordBytes, err)
	}
	var tooLarge *RecordTooLargeError
	if _, err := EncodeRecord("a", 2, testRecord{Name: strings.Repeat("x", MaxRecordBytes-overhead+1)}); !errors.As(err, &tooLarge) || tooLarge.Size != MaxRecordBytes+1 {
		t.Fatalf("a record one byte too large: %v", err)
	}
}

// Keyed records on the datacenter: the previous format (a bare map) is read; writers of one
// process (two clients) adding records at the same moment all keep theirs.
func TestDatacenterRecords(t *testing.T) {
	ctx := context.Background()
	sim := newSim(t)
	c := connect(t, sim)
	const attr = "vmgmt.test.records"
	if err := c.SetDatacenterCustomValue(ctx, attr, `{"old":{"name":"old","n":1}}`); err != nil {
		t.Fatal(err)
	}
	got, err := c.DatacenterRecords(ctx, attr, true)
	if err != nil || string(got["old"]) != `{"name":"old","n":1}` {
		t.Fatalf("the previous format read as %v, %v", got, err)
	}

	clients := []*Client{connect(t, sim), connect(t, sim)}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for w, wc := range clients {
		for i := 0; i < 5; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				key := fmt.Sprintf("w%d-%d", w, i)
				rec, _ := json.Marshal(testRecord{Name: key, N: i})
				// The pause between read and write makes every writer's read-modify-write overlap
				// the others': only the lock in vCenter keeps them from losing each other's record.
				errs <- wc.ChangeDatacenterRecords(ctx, attr, 2,
					func(m map[string]json.RawMessage) error { time.Sleep(30 * time.Millisecond); m[key] = rec; return nil })
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	got, err = c.DatacenterRecords(ctx, attr, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 11 || got["old"] == nil {
		t.Fatalf("after 10 concurrent writes: %d records (%v), want 11: the old one and each writer's", len(got), keys(got))
	}
	raw, _ := c.DatacenterCustomValue(ctx, attr, true)
	if !strings.HasPrefix(raw, `{"format":2,`) {
		t.Errorf("written as %.40s…, want the format-2 envelope", raw)
	}

	// A change that says ErrUnchanged writes nothing, whatever it did to the map it was given.
	before := c.Stats().RoundTrips()
	if err := c.ChangeDatacenterRecords(ctx, attr, 3, func(m map[string]json.RawMessage) error {
		delete(m, "old")
		return ErrUnchanged
	}); err != nil {
		t.Fatalf("an unchanged change: %v", err)
	}
	t.Logf("an unchanged change: %d round trips", c.Stats().RoundTrips()-before)
	if after, _ := c.DatacenterCustomValue(ctx, attr, true); after != raw {
		t.Errorf("an unchanged change wrote %.60s…, want %.60s… as it was", after, raw)
	}
}

func keys(m map[string]json.RawMessage) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
