package engine

import "strings"

// stopMatcher holds back generated text that might be the start of a stop
// string, so streamed text never includes anything a stop string removes.
type stopMatcher struct {
	stops   []string
	pending string
	hit     bool
}

func newStopMatcher(stops []string) *stopMatcher {
	var s []string
	for _, x := range stops {
		if x != "" {
			s = append(s, x)
		}
	}
	return &stopMatcher{stops: s}
}

// push adds text and returns what can be released now; hit reports that a
// stop string was found (the returned text ends just before it).
func (m *stopMatcher) push(text string) (out string, hit bool) {
	if m.hit {
		return "", true
	}
	if len(m.stops) == 0 {
		return text, false
	}
	m.pending += text
	first := -1
	for _, s := range m.stops {
		if i := strings.Index(m.pending, s); i >= 0 && (first < 0 || i < first) {
			first = i
		}
	}
	if first >= 0 {
		out = m.pending[:first]
		m.pending = ""
		m.hit = true
		return out, true
	}
	// Keep the longest tail that is a proper prefix of some stop string.
	keep := 0
	for _, s := range m.stops {
		for k := min(len(s)-1, len(m.pending)); k > keep; k-- {
			if strings.HasSuffix(m.pending, s[:k]) {
				keep = k
				break
			}
		}
	}
	out = m.pending[:len(m.pending)-keep]
	m.pending = m.pending[len(m.pending)-keep:]
	return out, false
}

// flush releases whatever is held back (generation ended without a stop).
func (m *stopMatcher) flush() string {
	out := m.pending
	m.pending = ""
	return out
}
