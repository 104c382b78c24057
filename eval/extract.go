package eval

import (
	"math/big"
	"regexp"
	"strings"
)

// HashAnswer returns the answer after the last "####" in text (GSM8K and
// arith format): its first whitespace-separated field, normalized
// (commas and "$" removed, trailing periods dropped). "" when there is none.
func HashAnswer(text string) string {
	i := strings.LastIndex(text, "####")
	if i < 0 {
		return ""
	}
	f := strings.Fields(text[i+4:])
	if len(f) == 0 {
		return ""
	}
	return normalizeNumber(f[0])
}

// normalizeNumber removes commas and dollar signs and trailing periods, as
// GSM8K scoring does ("$1,234." → "1234").
func normalizeNumber(s string) string {
	s = strings.TrimSpace(s)
	s = strings.NewReplacer(",", "", "$", "").Replace(s)
	return strings.TrimRight(s, ".")
}

// numbersEqual compares two normalized answers: equal strings, or equal
// decimal numbers ("18.00" = "18", "-0.5" = "-.5"). Parsing is exact
// (rational), so large integers never round.
func numbersEqual(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	if a == b {
		return true
	}
	var x, y big.Rat
	if _, ok := x.SetString(a); !ok || strings.ContainsAny(a, "/eE") {
		return false
	}
	if _, ok := y.SetString(b); !ok || strings.ContainsAny(b, "/eE") {
		return false
	}
	return x.Cmp(&y) == 0
}

// gsm8kStrictRe is lm-evaluation-harness's gsm8k-cot strict-match pattern
// ("The answer is (\-?[0-9\.\,]+)."), with two deliberate differences: a
// "$" before the number is allowed (the issue scores with "$" removed), and
// the number need not be followed by one more character, so an answer at
// the very end of a generation is read whole instead of losing its last
// digit to the pattern's trailing ".".
var gsm8kStrictRe = regexp.MustCompile(`The answer is \$?(-?[0-9][0-9.,]*)`)

// GSM8KStrict extracts the number after the first "The answer is",
// normalized; "" when there is none.
func GSM8KStrict(text string) string {
	m := gsm8kStrictRe.FindStringSubmatch(text)
	if m == nil {
		return ""
	}
	return normalizeNumber(m[1])
}

// gsm8kFlexibleRe is lm-evaluation-harness's flexible-extract pattern.
var gsm8kFlexibleRe = regexp.MustCompile(`(-?[$0-9.,]{2,})|(-?[0-9]+)`)

// GSM8KFlexible extracts the last number in text, normalized; "" when there
// is none. Matches of the pattern without a digit ("..", "$,") are skipped.
func GSM8KFlexible(text string) string {
	ms := gsm8kFlexibleRe.FindAllString(text, -1)
	for i := len(ms) - 1; i >= 0; i-- {
		if strings.ContainsAny(ms[i], "0123456789") {
			return normalizeNumber(ms[i])
		}
	}
	return ""
}

// BBHAnswer extracts what follows the first "the answer is" (as in "So the
// answer is (B).") up to the end of that line, without the final period and
// with runs of spaces collapsed; "" when the phrase is missing.
func BBHAnswer(text string) string {
	i := strings.Index(strings.ToLower(text), "the answer is")
	if i < 0 {
		return ""
	}
	rest := text[i+len("the answer is"):]
	if j := strings.IndexByte(rest, '\n'); j >= 0 {
		rest = rest[:j]
	}
	rest = strings.Join(strings.Fields(rest), " ")
	return strings.TrimSuffix(rest, ".")
}

// choiceRe reads a multiple-choice letter: "(B)", "(B) text", "B", "B.".
var choiceRe = regexp.MustCompile(`^\(?([A-Z])\)?(?:[\s.:]|$)`)

// BBHMatch compares an extracted BBH answer with the target: exact match
// ignoring case and runs of whitespace; for a multiple-choice target "(X)"
// the answer's leading letter decides ("(B) blue", "B" and "(B)" all match
// "(B)").
func BBHMatch(answer, target string) bool {
	answer = strings.Join(strings.Fields(answer), " ")
	target = strings.Join(strings.Fields(target), " ")
	if answer == "" {
		return false
	}
	if strings.EqualFold(answer, target) {
		return true
	}
	if len(target) == 3 && target[0] == '(' && target[2] == ')' {
		if m := choiceRe.FindStringSubmatch(answer); m != nil {
			return m[1] == target[1:2]
		}
	}
	return false
}
