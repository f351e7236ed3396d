package vsphere

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// The record store keeps what vSphere has no object for (catalog item definitions now; security
// group, baseline and backup job definitions next) in vCenter itself, as JSON in custom
// attributes, so that nothing lives only in Terraform state and the backup runner can read it:
//   - a record on an object (a template carries its catalog item): one custom attribute value;
//   - keyed records on the datacenter (what has no managed object of its own, such as a content
//     library item): one custom attribute holding a map, changed by read-modify-write under a
//     lock held in vCenter, so that writers in different processes never lose each other's change.
//
// Every value is an envelope {"format": N, "data": ...} (keyed records: "records" instead of
// "data"), so that readers know which shape they read. A value without an envelope is format 1,
// the shape written before the store existed.

// MaxRecordBytes bounds one stored value. vCenter keeps custom attribute values in its database
// as text; values beyond this are refused with a clear error instead of failing there.
const MaxRecordBytes = 64 << 10

// RecordTooLargeError means a record does not fit one custom attribute value.
type RecordTooLargeError struct {
	Attribute string
	Size      int
}

func (e *RecordTooLargeError) Error() string {
	return fmt.Sprintf("the record for custom attribute %s is %d bytes, more than the %d a value may hold: make it smaller (fewer sizes, groups or quotas)",
		e.Attribute, e.Size, MaxRecordBytes)
}

type envelope struct {
	Format  int                        `json:"format"`
	Data    json.RawMessage            `json:"data,omitempty"`
	Records map[string]json.RawMessage `json:"records,omitempty"`
}

// legacyFormat is the format of a value written without an envelope.
const legacyFormat = 1

// DecodeRecord decodes one record's value (as the VM snapshot holds it, say) into v and returns
// its format. "" is no record: format 0, v untouched.
func DecodeRecord(raw string, v any) (format int, err error) {
	if raw == "" {
		return 0, nil
	}
	e, err := openEnvelope(raw)
	if err != nil {
		return 0, err
	}
	if e == nil {
		return legacyFormat, json.Unmarshal([]byte(raw), v)
	}
	return e.Format, json.Unmarshal(e.Data, v)
}

// openEnvelope returns the envelope of a value, nil when it has none (format 1).
func openEnvelope(raw string) (*envelope, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &probe); err != nil {
		return nil, fmt.Errorf("not valid JSON: %w", err)
	}
	if _, ok := probe["format"]; !ok {
		return nil, nil
	}
	var e envelope
	if err := json.Unmarshal([]byte(raw), &e); err != nil {
		return nil, fmt.Errorf("not a vmgmt record: %w", err)
	}
	return &e, nil
}

// EncodeRecord is the stored value of a record of the given format.
func EncodeRecord(attr string, format int, v any) (string, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	raw, err := json.Marshal(envelope{Format: format, Data: data})
	if err != nil {
		return "", err
	}
	if len(raw) > MaxRecordBytes {
		return "", &RecordTooLargeError{Attribute: attr, Size: len(raw)}
	}
	return string(raw), nil
}

// PutVMRecord stores a record on a VM or template (nil v removes it).
func (c *Client) PutVMRecord(ctx context.Context, vmID, attr string, format int, v any) error {
	value := ""
	if v != nil {
		var err error
		if value, err = EncodeRecord(attr, format, v); err != nil {
			return err
		}
	}
	return c.SetCustomValue(ctx, vmID, attr, value)
}

// DatacenterRecords reads the keyed records on the client's datacenter: from the VM snapshot, or
// read now (fresh) before a change. It returns each record's raw JSON by key.
func (c *Client) DatacenterRecords(ctx context.Context, attr string, fresh bool) (map[string]json.RawMessage, error) {
	raw, err := c.DatacenterCustomValue(ctx, attr, fresh)
	if err != nil || raw == "" {
		return map[string]json.RawMessage{}, err
	}
	out := map[string]json.RawMessage{}
	e, err := openEnvelope(raw)
	switch {
	case err != nil:
		return nil, fmt.Errorf("the datacenter's custom attribute %s: %w (fix or clear it in vCenter)", attr, err)
	case e == nil: // format 1: the map itself
		if err := json.Unmarshal([]byte(raw), &out); err != nil {
			return nil, fmt.Errorf("the datacenter's custom attribute %s is not a map of records: %w", attr, err)
		}
	default:
		for k, v := range e.Records {
			out[k] = v
		}
	}
	return out, nil
}

// ErrUnchanged, returned by the change function of ChangeDatacenterRecords, says that it left the
// records as they were: nothing is written, and ChangeDatacenterRecords returns nil.
var ErrUnchanged = errors.New("the records are unchanged")

// ChangeDatacenterRecords changes the keyed records on the datacenter under the vCenter lock
// "records.<attr>" (see Lock): change edits the map read fresh, which is written back (format)
// unless change returns ErrUnchanged. Writers in every process take the same lock, so none
// overwrites another's change.
func (c *Client) ChangeDatacenterRecords(ctx context.Context, attr string, format int,
	change func(map[string]json.RawMessage) error) (err error) {
	lock, err := c.Lock(ctx, "records."+attr, LockOptions{})
	if err != nil {
		return fmt.Errorf("changing the datacenter's custom attribute %s: %w", attr, err)
	}
	defer func() {
		if rerr := lock.Release(ctx); err == nil {
			err = rerr
		}
	}()
	records, err := c.DatacenterRecords(ctx, attr, true)
	if err != nil {
		return err
	}
	if err := change(records); errors.Is(err, ErrUnchanged) {
		return nil
	} else if err != nil {
		return err
	}
	value := ""
	if len(records) > 0 {
		raw, err := json.Marshal(envelope{Format: format, Records: records})
		if err != nil {
			return err
		}
		if len(raw) > MaxRecordBytes {
			return &RecordTooLargeError{Attribute: attr, Size: len(raw)}
		}
		value = string(raw)
	}
	if err := lock.Held(); err != nil {
		return err
	}
	return c.SetDatacenterCustomValue(ctx, attr, value)
}

// PutDatacenterRecord stores one record in its own custom attribute on the client's datacenter
// (nil v clears it): for what needs a value of its own, such as a security group's definition
// with its grants.
func (c *Client) PutDatacenterRecord(ctx context.Context, attr string, format int, v any) error {
	value := ""
	if v != nil {
		var err error
		if value, err = EncodeRecord(attr, format, v); err != nil {
			return err
		}
	}
	return c.SetDatacenterCustomValue(ctx, attr, value)
}

// DatacenterRecord decodes the record in a custom attribute of the client's datacenter into v:
// from the VM snapshot, or read now (fresh). Format 0 is no record.
func (c *Client) DatacenterRecord(ctx context.Context, attr string, fresh bool, v any) (int, error) {
	raw, err := c.DatacenterCustomValue(ctx, attr, fresh)
	if err != nil {
		return 0, err
	}
	format, err := DecodeRecord(raw, v)
	if err != nil {
		return 0, fmt.Errorf("the datacenter's custom attribute %s: %w (fix or clear it in vCenter)", attr, err)
	}
	return format, nil
}
