package eval

import (
	"fmt"
	"strings"
)

// A minimal reader for the block-style YAML of lm-evaluation-harness task
// files (gsm8k-cot.yaml): mappings, sequences, plain and quoted scalars that
// may span lines. It exists so the exemplars come from the shared file
// itself rather than a copy, without a YAML dependency; anything beyond
// that subset (flow collections, block scalars, anchors) is an error that
// names the line.

type yamlNode struct {
	line   int
	scalar *string
	keys   []string // mapping keys in order
	vals   map[string]*yamlNode
	items  []*yamlNode
}

func (n *yamlNode) get(path ...string) *yamlNode {
	for _, k := range path {
		if n == nil || n.vals == nil {
			return nil
		}
		n = n.vals[k]
	}
	return n
}

func (n *yamlNode) str() (string, bool) {
	if n == nil || n.scalar == nil {
		return "", false
	}
	return *n.scalar, true
}

type yamlLine struct {
	num    int // 1-based
	indent int
	text   string // without indentation
}

type yamlParser struct {
	file  string
	lines []yamlLine
	i     int
}

func parseYAML(file string, data []byte) (*yamlNode, error) {
	p := &yamlParser{file: file}
	for i, l := range strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n") {
		t := strings.TrimLeft(l, " ")
		if strings.HasPrefix(t, "\t") {
			return nil, p.errf(i+1, "tab indentation")
		}
		p.lines = append(p.lines, yamlLine{num: i + 1, indent: len(l) - len(t), text: strings.TrimRight(t, " ")})
	}
	p.skipBlank()
	if p.i >= len(p.lines) {
		return &yamlNode{vals: map[string]*yamlNode{}}, nil
	}
	n, err := p.block(p.lines[p.i].indent)
	if err != nil {
		return nil, err
	}
	p.skipBlank()
	if p.i < len(p.lines) {
		return nil, p.errf(p.lines[p.i].num, "unexpected indentation")
	}
	return n, nil
}

func (p *yamlParser) errf(line int, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", p.file, line, fmt.Sprintf(format, args...))
}

func (p *yamlParser) skipBlank() {
	for p.i < len(p.lines) && (p.lines[p.i].text == "" || strings.HasPrefix(p.lines[p.i].text, "#")) {
		p.i++
	}
}

// block parses a mapping or sequence whose entries start at indent.
func (p *yamlParser) block(indent int) (*yamlNode, error) {
	l := p.lines[p.i]
	if l.text == "-" || strings.HasPrefix(l.text, "- ") {
		return p.sequence(indent)
	}
	return p.mapping(indent, nil)
}

func (p *yamlParser) sequence(indent int) (*yamlNode, error) {
	n := &yamlNode{line: p.lines[p.i].num}
	for {
		p.skipBlank()
		if p.i >= len(p.lines) || p.lines[p.i].indent < indent {
			return n, nil
		}
		l := p.lines[p.i]
		isEntry := l.text == "-" || strings.HasPrefix(l.text, "- ")
		if l.indent == indent && !isEntry {
			return n, nil // a mapping key after a sequence at its own indentation
		}
		if l.indent > indent {
			return nil, p.errf(l.num, "unexpected indentation")
		}
		rest := strings.TrimLeft(strings.TrimPrefix(l.text, "-"), " ")
		itemIndent := l.indent + len(l.text) - len(rest)
		var item *yamlNode
		var err error
		switch {
		case rest == "":
			p.i++
			p.skipBlank()
			if p.i >= len(p.lines) || p.lines[p.i].indent <= indent {
				s := ""
				item = &yamlNode{line: l.num, scalar: &s}
			} else {
				item, err = p.block(p.lines[p.i].indent)
			}
		case isMapEntry(rest):
			// "- key: value" starts a mapping whose keys sit at itemIndent.
			item, err = p.mapping(itemIndent, &yamlLine{num: l.num, indent: itemIndent, text: rest})
		default:
			item, err = p.scalar(rest, l.num, indent)
		}
		if err != nil {
			return nil, err
		}
		n.items = append(n.items, item)
	}
}

// isMapEntry reports whether text is "key: ..." or "key:" with a plain key.
func isMapEntry(text string) bool {
	if strings.HasPrefix(text, "'") || strings.HasPrefix(text, `"`) {
		return false
	}
	i := strings.Index(text, ":")
	return i > 0 && (i == len(text)-1 || text[i+1] == ' ')
}

// mapping parses "key: value" entries at indent. first, when set, is an
// entry already split off a "- " line.
func (p *yamlParser) mapping(indent int, first *yamlLine) (*yamlNode, error) {
	n := &yamlNode{vals: map[string]*yamlNode{}}
	for {
		var l yamlLine
		if first != nil {
			l, first = *first, nil
		} else {
			p.skipBlank()
			if p.i >= len(p.lines) || p.lines[p.i].indent < indent {
				return n, nil
			}
			l = p.lines[p.i]
			if l.indent > indent {
				return nil, p.errf(l.num, "unexpected indentation")
			}
		}
		if n.line == 0 {
			n.line = l.num
		}
		if !isMapEntry(l.text) {
			return nil, p.errf(l.num, "expected \"key: value\"")
		}
		k := l.text[:strings.Index(l.text, ":")]
		rest := strings.TrimLeft(l.text[len(k)+1:], " ")
		if _, dup := n.vals[k]; dup {
			return nil, p.errf(l.num, "duplicate key %q", k)
		}
		var v *yamlNode
		var err error
		if rest == "" {
			p.i++
			p.skipBlank()
			// A nested block is indented deeper, or (for sequences) may sit
			// at the key's own indentation.
			if p.i < len(p.lines) && (p.lines[p.i].indent > indent ||
				p.lines[p.i].indent == indent && strings.HasPrefix(p.lines[p.i].text, "- ")) {
				v, err = p.block(p.lines[p.i].indent)
			} else {
				s := ""
				v = &yamlNode{line: l.num, scalar: &s}
			}
		} else {
			v, err = p.scalar(rest, l.num, indent)
		}
		if err != nil {
			return nil, err
		}
		n.keys = append(n.keys, k)
		n.vals[k] = v
	}
}

// scalar parses a scalar starting with text on line num (already consumed
// up to text); continuation lines are those indented deeper than parent.
// Lines fold as YAML says: one line break becomes a space, a blank line a
// newline.
func (p *yamlParser) scalar(text string, num, parent int) (*yamlNode, error) {
	switch {
	case strings.HasPrefix(text, "[") || strings.HasPrefix(text, "{"):
		return nil, p.errf(num, "flow collections are not supported")
	case strings.HasPrefix(text, "|") || strings.HasPrefix(text, ">"):
		return nil, p.errf(num, "block scalars are not supported")
	case strings.HasPrefix(text, "&") || strings.HasPrefix(text, "*"):
		return nil, p.errf(num, "anchors and aliases are not supported")
	}
	parts := []string{text}
	p.i++
	quote := byte(0)
	if text[0] == '\'' || text[0] == '"' {
		quote = text[0]
	}
	// Continuation lines: deeper than the parent, or (inside an open quote)
	// anything up to the closing quote.
	for p.i < len(p.lines) {
		l := p.lines[p.i]
		if quote != 0 && quoteClosed(strings.Join(parts, "\n"), quote) {
			break
		}
		if l.text != "" && l.indent <= parent && quote == 0 {
			break
		}
		if quote == 0 && strings.HasPrefix(l.text, "#") {
			break
		}
		if quote == 0 && (isMapEntry(l.text) || strings.Contains(l.text, ": ")) {
			// A plain scalar cannot hold ": "; this is a misindented key.
			return nil, p.errf(l.num, "unexpected indentation")
		}
		parts = append(parts, l.text)
		p.i++
	}
	// Trailing blank lines belong to no scalar.
	for len(parts) > 1 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	var b strings.Builder
	for i, s := range parts {
		if i > 0 {
			switch {
			case s == "":
				b.WriteByte('\n')
				continue
			case parts[i-1] != "":
				b.WriteByte(' ')
			}
		}
		b.WriteString(s)
	}
	s := b.String()
	switch quote {
	case '\'':
		if !quoteClosed(s, quote) || !strings.HasSuffix(s, "'") {
			return nil, p.errf(num, "unterminated single-quoted string")
		}
		s = strings.ReplaceAll(s[1:len(s)-1], "''", "'")
	case '"':
		if !quoteClosed(s, quote) || !strings.HasSuffix(s, `"`) {
			return nil, p.errf(num, "unterminated double-quoted string")
		}
		u, err := unquoteDouble(s[1 : len(s)-1])
		if err != nil {
			return nil, p.errf(num, "%v", err)
		}
		s = u
	default:
		if i := strings.Index(s, " #"); i >= 0 {
			s = strings.TrimRight(s[:i], " ")
		}
	}
	return &yamlNode{line: num, scalar: &s}, nil
}

// quoteClosed reports whether the quoted scalar s (starting with its quote)
// has its closing quote.
func quoteClosed(s string, q byte) bool {
	for i := 1; i < len(s); i++ {
		switch {
		case q == '\'' && s[i] == '\'':
			if i+1 < len(s) && s[i+1] == '\'' {
				i++
				continue
			}
			return true
		case q == '"' && s[i] == '\\':
			i++
		case q == '"' && s[i] == '"':
			return true
		}
	}
	return false
}

func unquoteDouble(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		i++
		if i >= len(s) {
			return "", fmt.Errorf("dangling backslash")
		}
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case '"', '\\', '/':
			b.WriteByte(s[i])
		default:
			return "", fmt.Errorf("unsupported escape \\%c", s[i])
		}
	}
	return b.String(), nil
}
