package job

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/adhocore/gronx"

	// The runner may run where the system has no zone database (a distroless container): the
	// zones a schedule names are embedded.
	_ "time/tzdata"
)

// DefaultTimeZone is the zone of a schedule that names none.
const DefaultTimeZone = "UTC"

// CronExample is what the messages about a bad cron expression offer instead.
const CronExample = `"0 2 * * *" (02:00 every day) or "30 1 * * 0" (01:30 every Sunday)`

// cronFields names the five fields of a cron expression, in order.
var cronFields = []string{"minute", "hour", "day of month", "month", "day of week"}

// Schedule is when a job runs: a five-field cron expression (minute hour day-of-month month
// day-of-week, or a tag such as @daily) read in a time zone.
type Schedule struct {
	Cron string `json:"cron"`
	// TimeZone is an IANA zone name (Europe/Berlin); empty is UTC.
	TimeZone string `json:"time_zone,omitempty"`
}

// Validate reports what makes the schedule unusable: a cron expression gronx does not accept (the
// field it rejects, when one is to blame), a zone that does not exist, or an expression that never
// fires (30 February).
func (s Schedule) Validate() error {
	if err := validateCron(s.Cron); err != nil {
		return err
	}
	loc, err := s.Location()
	if err != nil {
		return err
	}
	_, err = s.next(time.Now(), loc)
	return err
}

// CronError is a cron expression the scheduler does not accept.
type CronError struct {
	Cron   string
	Reason string
}

func (e *CronError) Error() string {
	return fmt.Sprintf("cron %q is not a cron expression the scheduler accepts: %s. Give five fields, minute hour day-of-month "+
		"month day-of-week, such as %s", e.Cron, e.Reason, CronExample)
}

// ZoneError is a time zone that the zone database does not hold.
type ZoneError struct {
	Zone string
	Err  error
}

func (e *ZoneError) Error() string {
	return fmt.Sprintf("time zone %q is not in the IANA time zone database (%v): give a zone name such as UTC, Europe/Berlin "+
		"or America/New_York", e.Zone, e.Err)
}

func (e *ZoneError) Unwrap() error { return e.Err }

func validateCron(expr string) error {
	expr = strings.TrimSpace(expr)
	if expr == "" {
		return &CronError{Cron: expr, Reason: "it is empty"}
	}
	segs, err := gronx.Segments(expr)
	if err != nil {
		return &CronError{Cron: expr, Reason: "it does not have five fields"}
	}
	tag := strings.HasPrefix(expr, "@")
	if len(segs) != 6 || segs[0] != "0" || !tag && len(strings.Fields(expr)) != 5 {
		// gronx also takes a seconds field and a year field; a backup schedule is to the minute.
		return &CronError{Cron: expr, Reason: "it names seconds or years, which a backup schedule does not take"}
	}
	if gronx.IsValid(expr) {
		return nil
	}
	// Name the field gronx rejects: each field checked alone, the others left open.
	for i := range cronFields {
		probe := []string{"*", "*", "*", "*", "*"}
		probe[i] = segs[i+1]
		if !gronx.IsValid(strings.Join(probe, " ")) {
			return &CronError{Cron: expr, Reason: fmt.Sprintf("the %s field %q is out of range or malformed", cronFields[i], segs[i+1])}
		}
	}
	return &CronError{Cron: expr, Reason: "its fields do not combine into a valid expression"}
}

// Location is the schedule's time zone.
func (s Schedule) Location() (*time.Location, error) {
	zone := strings.TrimSpace(s.TimeZone)
	if zone == "" {
		zone = DefaultTimeZone
	}
	if zone == "Local" {
		// The runner's machine decides "Local": two runners could disagree on when a job is due.
		return nil, &ZoneError{Zone: zone, Err: errors.New("the zone named Local is that of whichever machine runs the job")}
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return nil, &ZoneError{Zone: zone, Err: err}
	}
	return loc, nil
}

// Next is the first tick of the schedule strictly after after, in the schedule's zone: a tick
// exactly at after is not the next one. A wall-clock time that a DST change skips runs at the
// end of the gap (02:30 becomes 03:30); one that a DST change repeats occurs once (as cron runs
// it): a daily job does not run twice the night clocks go back.
//
// gronx walks the calendar in the zone it is given, and across a DST change (or a day that not
// every month has) it can land on a time the expression does not name. So the walk runs on the
// wall clock alone (in UTC, which has no DST), every tick it finds is checked against the
// expression, and only then is the tick placed in the zone.
func (s Schedule) Next(after time.Time) (time.Time, error) {
	if err := validateCron(s.Cron); err != nil {
		return time.Time{}, err
	}
	loc, err := s.Location()
	if err != nil {
		return time.Time{}, err
	}
	return s.next(after, loc)
}

func (s Schedule) next(after time.Time, loc *time.Location) (time.Time, error) {
	expr := strings.TrimSpace(s.Cron)
	after = after.In(loc)
	wall := wallClock(after)
	for i := 0; i < maxTicks; i++ {
		next, err := gronx.NextTickAfter(expr, wall, false)
		if err != nil {
			break
		}
		wall = next
		if due, err := gronx.New().IsDue(expr, next); err != nil || !due {
			continue // gronx overshot onto a time the expression does not name
		}
		// A wall-clock time a DST change skips runs at the first instant after the gap, as cronie
		// and systemd timers run it (02:00 becomes 03:00 the night clocks go forward): a nightly
		// backup is an hour late that night, never a day missed.
		at := time.Date(next.Year(), next.Month(), next.Day(), next.Hour(), next.Minute(), 0, 0, loc)
		if !at.After(after) {
			continue
		}
		return at, nil
	}
	return time.Time{}, fmt.Errorf("cron %q has no run after %s: give a day and month that exist, such as %s",
		s.Cron, after.Format(time.RFC3339), CronExample)
}

// maxTicks bounds the ticks Next examines: enough for a schedule that runs once in four years
// (29 February) through gronx's overshoots.
const maxTicks = 1000

// wallClock is t's wall-clock reading as a UTC time.
func wallClock(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// gapHorizon and gapTicks bound LongestGap's walk: a year covers every monthly pattern, and 400
// ticks a schedule that runs every minute (whose gap is found in two).
const (
	gapHorizon = 366 * 24 * time.Hour
	gapTicks   = 400
)

// LongestGap is the longest time between two consecutive runs of the schedule over the year
// after from (at most gapTicks runs): how stale a restore point can get. A policy judges "at
// least daily" by it, since cron itself cannot be judged in Rego: "0 2 * * 1-5" runs daily on
// weekdays and leaves 72 hours over the weekend.
func (s Schedule) LongestGap(from time.Time) (time.Duration, error) {
	loc, err := s.Location()
	if err != nil {
		return 0, err
	}
	if err := validateCron(s.Cron); err != nil {
		return 0, err
	}
	prev, err := s.next(from, loc)
	if err != nil {
		return 0, err
	}
	var longest time.Duration
	for i := 0; i < gapTicks && prev.Sub(from) < gapHorizon; i++ {
		next, err := s.next(prev, loc)
		if err != nil {
			return 0, err
		}
		if d := next.Sub(prev); d > longest {
			longest = d
		}
		prev = next
	}
	return longest, nil
}
