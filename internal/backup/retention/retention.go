// Package retention decides which restore points a backup job keeps, in plain Go: the runner
// applies it after a new point is complete, and the plan of a job can show what a change of
// retention would prune.
//
// The rules are restic's, which backup operators know: a point is kept when any rule keeps it.
//   - keep_last N: the N newest points;
//   - keep_days D: every point taken less than D days (D x 24 h) before now;
//   - daily N, weekly N, monthly N: for each of the N most recent days (ISO weeks, months) that
//     have points, the newest point of that day (week, month), in the job's time zone.
//
// Besides: the newest verified point (one a restore test proved good) is never pruned, so that a
// run of failed or unverifiable points cannot push out the last one known to restore; and only
// complete points are judged at all (a point the runner is still writing, or left half-written by a
// crash, is the runner's cleanup, never retention's), so a point is never pruned before its
// replacement is complete.
package retention

import (
	"errors"
	"fmt"
	"sort"
	"time"
)

// Policy is a job's retention.
type Policy struct {
	KeepLast, KeepDays, Daily, Weekly, Monthly int
}

// Validate says what makes the policy unusable: negative counts, or one that keeps nothing.
func (p Policy) Validate() error {
	for name, n := range map[string]int{"keep_last": p.KeepLast, "keep_days": p.KeepDays, "daily": p.Daily, "weekly": p.Weekly, "monthly": p.Monthly} {
		if n < 0 {
			return fmt.Errorf("retention %s is %d: give 0 (not used) or more", name, n)
		}
	}
	if p.KeepLast < 1 {
		return errors.New("retention keep_last must be at least 1: the newest restore point is always kept")
	}
	return nil
}

// Point is one complete restore point.
type Point struct {
	ID       string
	Time     time.Time
	Verified bool
}

// Reason says which rules keep a point ("last", "days", "daily", "weekly", "monthly",
// "newest-verified").
type Reason []string

// Decision is what Plan decided: the points kept, each with why, and the points to prune, both
// newest first.
type Decision struct {
	Keep  []Point
	Why   map[string]Reason // by point ID
	Prune []Point
}

// Plan applies the policy to the points at time now, with days, weeks and months counted in loc
// (the job's time zone; UTC when nil).
func Plan(points []Point, p Policy, now time.Time, loc *time.Location) Decision {
	if loc == nil {
		loc = time.UTC
	}
	ps := append([]Point(nil), points...)
	sort.SliceStable(ps, func(i, j int) bool {
		if !ps[i].Time.Equal(ps[j].Time) {
			return ps[i].Time.After(ps[j].Time)
		}
		return ps[i].ID > ps[j].ID
	})
	why := map[string]Reason{}
	keep := func(pt Point, reason string) { why[pt.ID] = append(why[pt.ID], reason) }
	for i, pt := range ps {
		if i < p.KeepLast {
			keep(pt, "last")
		}
		if p.KeepDays > 0 && now.Sub(pt.Time) < time.Duration(p.KeepDays)*24*time.Hour {
			keep(pt, "days")
		}
	}
	bucketed := func(n int, reason string, bucket func(time.Time) string) {
		seen := map[string]bool{}
		for _, pt := range ps {
			if len(seen) == n {
				return
			}
			b := bucket(pt.Time.In(loc))
			if !seen[b] {
				seen[b] = true
				keep(pt, reason) // the first of a bucket is its newest: ps is newest first
			}
		}
	}
	bucketed(p.Daily, "daily", func(t time.Time) string { return t.Format("2006-01-02") })
	bucketed(p.Weekly, "weekly", func(t time.Time) string {
		y, w := t.ISOWeek()
		return fmt.Sprintf("%d-W%02d", y, w)
	})
	bucketed(p.Monthly, "monthly", func(t time.Time) string { return t.Format("2006-01") })
	for _, pt := range ps {
		if pt.Verified {
			keep(pt, "newest-verified")
			break
		}
	}
	d := Decision{Why: why}
	for _, pt := range ps {
		if len(why[pt.ID]) > 0 {
			d.Keep = append(d.Keep, pt)
		} else {
			d.Prune = append(d.Prune, pt)
		}
	}
	return d
}
