package job

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func at(t *testing.T, zone, s string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	v, err := time.ParseInLocation("2006-01-02 15:04:05", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Next is the first tick strictly after the time given, in the schedule's zone.
func TestScheduleNext(t *testing.T) {
	cases := []struct {
		name, cron, zone, after, want string
	}{
		{"daily at 02:00, before", "0 2 * * *", "UTC", "2026-05-10 01:59:59", "2026-05-10T02:00:00Z"},
		{"a tick exactly at after is not the next", "0 2 * * *", "UTC", "2026-05-10 02:00:00", "2026-05-11T02:00:00Z"},
		{"a second after the tick", "0 2 * * *", "UTC", "2026-05-10 02:00:01", "2026-05-11T02:00:00Z"},
		{"across the year", "0 2 * * *", "UTC", "2026-12-31 03:00:00", "2027-01-01T02:00:00Z"},
		{"the 31st skips months without one", "0 2 31 * *", "UTC", "2026-04-01 00:00:00", "2026-05-31T02:00:00Z"},
		{"last day of February", "0 2 L * *", "UTC", "2026-02-01 00:00:00", "2026-02-28T02:00:00Z"},
		{"last day of a leap February", "0 2 L * *", "UTC", "2028-02-01 00:00:00", "2028-02-29T02:00:00Z"},
		{"29 February waits for a leap year", "0 0 29 2 *", "UTC", "2026-01-31 02:00:00", "2028-02-29T00:00:00Z"},
		{"weekly on Sunday", "30 1 * * 0", "UTC", "2026-05-06 00:00:00", "2026-05-10T01:30:00Z"},
		{"a tag", "@daily", "UTC", "2026-05-10 12:00:00", "2026-05-11T00:00:00Z"},
		{"in the zone's wall clock", "0 2 * * *", "America/New_York", "2026-05-10 03:00:00", "2026-05-11T02:00:00-04:00"},
		// Europe/Berlin: 2026-03-29 02:00 CET jumps to 03:00 CEST; 2026-10-25 03:00 CEST falls back to 02:00 CET.
		{"DST: 02:00 does not exist the day clocks go forward: it runs at 03:00", "0 2 * * *", "Europe/Berlin", "2026-03-28 12:00:00", "2026-03-29T03:00:00+02:00"},
		{"DST: 02:30 runs at 03:30", "30 2 * * *", "Europe/Berlin", "2026-03-28 12:00:00", "2026-03-29T03:30:00+02:00"},
		{"DST: the run after the late one is the next day's", "0 2 * * *", "Europe/Berlin", "2026-03-29 03:00:00", "2026-03-30T02:00:00+02:00"},
		{"DST: 03:00 exists the day clocks go forward", "0 3 * * *", "Europe/Berlin", "2026-03-28 12:00:00", "2026-03-29T03:00:00+02:00"},
		{"DST: the hour after the change is summer time", "0 4 * * *", "Europe/Berlin", "2026-03-29 01:00:00", "2026-03-29T04:00:00+02:00"},
		{"DST: 03:00 the day clocks go back", "0 3 * * *", "Europe/Berlin", "2026-10-24 12:00:00", "2026-10-25T03:00:00+01:00"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := Schedule{Cron: tc.cron, TimeZone: tc.zone}
			got, err := s.Next(at(t, tc.zone, tc.after))
			if err != nil {
				t.Fatal(err)
			}
			if got.Format(time.RFC3339) != tc.want {
				t.Errorf("Next(%s) = %s, want %s", tc.after, got.Format(time.RFC3339), tc.want)
			}
		})
	}
}

// A time the fall-back change repeats runs once: the tick after it is the next day's.
func TestScheduleNext_repeatedHourOnce(t *testing.T) {
	s := Schedule{Cron: "30 2 * * *", TimeZone: "Europe/Berlin"}
	from := at(t, "Europe/Berlin", "2026-10-24 12:00:00")
	var ticks []string
	for i := 0; i < 3; i++ {
		next, err := s.Next(from)
		if err != nil {
			t.Fatal(err)
		}
		ticks = append(ticks, next.Format(time.RFC3339))
		from = next
	}
	got := strings.Join(ticks, " ")
	if strings.Count(got, "2026-10-25") != 1 || !strings.Contains(got, "2026-10-26T02:30:00+01:00") {
		t.Errorf("ticks across the fall-back change: %s; want one on 2026-10-25, then 2026-10-26T02:30:00+01:00", got)
	}
	// From late in the first pass of the repeated hour (02:59:30 summer time), 02:15 of the second
	// pass is not another run of a daily job.
	late := time.Date(2026, 10, 25, 0, 59, 30, 0, time.UTC)
	if next, err := (Schedule{Cron: "15 2 * * *", TimeZone: "Europe/Berlin"}).Next(late); err != nil || next.Format(time.RFC3339) != "2026-10-26T02:15:00+01:00" {
		t.Errorf("Next(02:59:30 CEST on 2026-10-25) = %s (%v), want 2026-10-26T02:15:00+01:00", next.Format(time.RFC3339), err)
	}
	// From the first pass of 02:30 (summer time), the second pass is not another run.
	first := time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC) // 02:30 CEST
	next, err := s.Next(first)
	if err != nil {
		t.Fatal(err)
	}
	if next.Format(time.RFC3339) != "2026-10-26T02:30:00+01:00" {
		t.Errorf("Next(02:30 CEST on 2026-10-25) = %s, want 2026-10-26T02:30:00+01:00", next.Format(time.RFC3339))
	}
}

// Validate says what is wrong: the field gronx rejects, with an example; the zone; a schedule
// that never fires.
func TestScheduleValidate(t *testing.T) {
	cases := []struct {
		name, cron, zone, want string
	}{
		{"empty", "", "", "it is empty"},
		{"too few fields", "0 2 * *", "", "does not have five fields"},
		{"seconds field", "0 0 2 * * *", "", "seconds or years"},
		{"every second tag", "@everysecond", "", "seconds or years"},
		{"minute out of range", "61 * * * *", "", `the minute field "61"`},
		{"hour out of range", "0 25 * * *", "", `the hour field "25"`},
		{"day of month out of range", "0 2 32 * *", "", `the day of month field "32"`},
		{"month out of range", "0 2 * 13 *", "", `the month field "13"`},
		{"day of week out of range", "0 2 * * 8", "", `the day of week field "8"`},
		{"words", "nightly at two", "", "does not have five fields"},
		{"never fires", "0 2 30 2 *", "", "has no run after"},
		{"unknown zone", "0 2 * * *", "Europe/Berlinn", `time zone "Europe/Berlinn" is not in the IANA time zone database`},
		{"Local", "0 2 * * *", "Local", "whichever machine runs the job"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Schedule{Cron: tc.cron, TimeZone: tc.zone}.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tc.want)
			}
			var ce *CronError
			if errors.As(err, &ce) && !strings.Contains(err.Error(), `"0 2 * * *"`) {
				t.Errorf("the cron error gives no example: %v", err)
			}
		})
	}
	for _, ok := range []Schedule{{Cron: "0 2 * * *"}, {Cron: " 0 2 * * * ", TimeZone: "Europe/Berlin"}, {Cron: "*/15 * * * 1-5"}, {Cron: "@weekly"}, {Cron: "0 2 L * *"}} {
		if err := ok.Validate(); err != nil {
			t.Errorf("%+v: %v", ok, err)
		}
	}
}

// The longest gap between runs: daily is 24 h, weekdays leave the weekend (72 h), monthly the
// longest month; a daily job the night clocks change is 23 or 25 h apart in real time.
func TestScheduleLongestGap(t *testing.T) {
	from := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		cron, zone string
		want       time.Duration
	}{
		{"0 2 * * *", "UTC", 24 * time.Hour},
		{"*/15 * * * *", "UTC", 15 * time.Minute},
		{"0 2 * * 1-5", "UTC", 72 * time.Hour},
		{"0 2 1 * *", "UTC", 31 * 24 * time.Hour},
		{"0 2 * * *", "Europe/Berlin", 25 * time.Hour}, // the night of 25 October 2027 gives 25 h
	} {
		got, err := Schedule{Cron: tc.cron, TimeZone: tc.zone}.LongestGap(from)
		if err != nil || got != tc.want {
			t.Errorf("LongestGap(%q in %s) = %s, %v; want %s", tc.cron, tc.zone, got, err, tc.want)
		}
	}
	if _, err := (Schedule{Cron: "0 2 30 2 *"}).LongestGap(from); err == nil {
		t.Error("a schedule that never runs has a longest gap")
	}
}
