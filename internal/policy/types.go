package policy

// The words the gate, the CLI and the decision log share, as typed constants so that code,
// validators and docs agree. Each type is a string: JSON and the decision log carry the words
// themselves.

// Phase is when a change is judged: at plan time, and again at apply time before anything
// changes in vCenter.
type Phase string

const (
	PhasePlan  Phase = "plan"
	PhaseApply Phase = "apply"
)

// Phases lists the phases.
func Phases() []Phase { return []Phase{PhasePlan, PhaseApply} }

// Level is how much a finding weighs, as a violation object's level says.
type Level string

const (
	LevelMandatory Level = "mandatory" // blocks, unless deferred, grandfathered or exempted
	LevelAdvisory  Level = "advisory"  // warns
)

// Levels lists the levels a violation object may give.
func Levels() []Level { return []Level{LevelMandatory, LevelAdvisory} }

// Outcome is what a finding does to the change, after levels, deferral, grandfathering and
// exemptions.
type Outcome string

const (
	OutcomeBlock         Outcome = "block"         // mandatory: the plan or apply fails
	OutcomeWarn          Outcome = "warn"          // advisory
	OutcomeDeferred      Outcome = "deferred"      // needs values unknown until apply
	OutcomeGrandfathered Outcome = "grandfathered" // mandatory, but the attributes it judges did not change
	OutcomeExempted      Outcome = "exempted"      // mandatory, exempted by policy data
	OutcomeExpired       Outcome = "expired"       // an exemption matched but has expired: blocks
)

// Outcomes lists the outcomes of a finding.
func Outcomes() []Outcome {
	return []Outcome{OutcomeBlock, OutcomeWarn, OutcomeDeferred, OutcomeGrandfathered, OutcomeExempted, OutcomeExpired}
}

// Rule is a decision rule a policy package defines; the engine reads these and no others.
type Rule string

const (
	RuleDeny      Rule = "deny"      // strings or {msg, path} objects, mandatory
	RuleWarn      Rule = "warn"      // strings or {msg, path} objects, advisory
	RuleViolation Rule = "violation" // {id, msg, level, path} objects
)

// Rules lists the decision rules, in the order the engine reads them.
func Rules() []Rule { return []Rule{RuleDeny, RuleWarn, RuleViolation} }

// Result is a decision as the decision log sums it up.
type Result string

const (
	ResultAllow Result = "allow" // no finding
	ResultWarn  Result = "warn"  // findings, none of them blocking
	ResultDeny  Result = "deny"  // a blocking finding
	ResultError Result = "error" // the policy could not be evaluated: the change is refused
)

// Results lists the results of the decision log.
func Results() []Result { return []Result{ResultAllow, ResultWarn, ResultDeny, ResultError} }

// Strings turns a list of typed constants into the strings a validator takes, e.g.
// stringvalidator.OneOf(policy.Strings(policy.Levels())...).
func Strings[T ~string](values []T) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}
