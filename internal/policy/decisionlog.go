package policy

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// decisionLog appends one JSON line per decision. Safe under Terraform's parallel resource calls
// (one mutex, one write per line) and across processes (O_APPEND).
type decisionLog struct {
	mu sync.Mutex
	f  *os.File
}

func openDecisionLog(path string) (*decisionLog, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the decision log: %w", err)
	}
	return &decisionLog{f: f}, nil
}

func (l *decisionLog) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Close()
}

// LogEntry is one line of the decision log.
type LogEntry struct {
	DecisionID string      `json:"decision_id"`
	Time       string      `json:"time"`
	Phase      Phase       `json:"phase"`
	Type       string      `json:"resource_type"`
	Name       string      `json:"resource_name,omitempty"`
	ID         string      `json:"resource_id,omitempty"`
	Actions    []string    `json:"actions"`
	Result     Result      `json:"result"`
	Violations []Finding   `json:"violations"`
	Warnings   []Finding   `json:"warnings"`
	Exemptions []Exemption `json:"exemptions_used"`
	Error      string      `json:"error,omitempty"`
	Revision   string      `json:"policy_revision"`
	DurationUS int64       `json:"duration_us"`
	Principal  string      `json:"principal,omitempty"`
	Input      any         `json:"input"`
}

const masked = "(sensitive value)"

func (e *Engine) logDecision(c Change, d *Decision, input map[string]any, evalErr error) {
	if e.log == nil {
		return
	}
	entry := LogEntry{
		DecisionID: d.ID, Time: e.now().UTC().Format(time.RFC3339Nano), Phase: c.Phase, Type: c.Type, Name: c.Name, ID: c.ID,
		Actions: c.Actions, Result: ResultAllow, Violations: []Finding{}, Warnings: []Finding{}, Exemptions: []Exemption{},
		Revision: e.revision, DurationUS: d.Duration.Microseconds(), Principal: c.Principal,
		Input: maskInput(input, c.Sensitive),
	}
	for _, f := range d.Findings {
		if f.Blocks() {
			entry.Violations = append(entry.Violations, f)
			entry.Result = ResultDeny
		} else {
			entry.Warnings = append(entry.Warnings, f)
			if entry.Result == ResultAllow {
				entry.Result = ResultWarn
			}
		}
		if f.Exemption != nil {
			entry.Exemptions = append(entry.Exemptions, *f.Exemption)
		}
	}
	if evalErr != nil {
		entry.Result = ResultError
		entry.Error = evalErr.Error()
	}
	line, err := json.Marshal(entry)
	if err != nil {
		return
	}
	line = append(line, '\n')
	e.log.mu.Lock()
	defer e.log.mu.Unlock()
	_, _ = e.log.f.Write(line)
}

// maskInput copies the input with sensitive attributes of before and after replaced.
func maskInput(input map[string]any, sensitive []string) any {
	if len(sensitive) == 0 {
		return input
	}
	cp := normalize(input).(map[string]any)
	change, _ := cp["change"].(map[string]any)
	if change == nil {
		return cp
	}
	for _, side := range []string{"before", "after"} {
		doc := change[side]
		for _, p := range sensitive {
			maskPath(doc, strings.Split(p, "."))
		}
	}
	return cp
}

func maskPath(v any, p []string) {
	m, ok := v.(map[string]any)
	if !ok || len(p) == 0 {
		return
	}
	if len(p) == 1 {
		if _, ok := m[p[0]]; ok && m[p[0]] != nil {
			m[p[0]] = masked
		}
		return
	}
	maskPath(m[p[0]], p[1:])
}
