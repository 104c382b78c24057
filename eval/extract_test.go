package eval

import "testing"

func TestHashAnswer(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{" Each gets 25 / 5 = 5 ribbons.\nThat one now has 5 + 5 = 10 ribbons.\n#### 10", "10"},
		{"no answer here", ""},
		{"#### ", ""},
		{"#### 1,234", "1234"},
		{"#### $1,234.50", "1234.50"},
		{"#### -7 apples", "-7"},
		{"#### 3\n#### 4", "4"}, // the last marker counts
		{"#### 12.", "12"},      // trailing period
		{"#### 5 then 6", "5"},  // trailing text
		{"####42", "42"},        // no space
		{"x #### 9\nmore text", "9"},
	} {
		if got := HashAnswer(tc.in); got != tc.want {
			t.Errorf("HashAnswer(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestGSM8KExtraction(t *testing.T) {
	for _, tc := range []struct {
		in, strict, flexible string
	}{
		{"There are 15 trees. 21 - 15 = 6. The answer is 6.\n\n", "6", "6"},
		{"no numbers at all", "", ""},
		{"The answer is unclear.", "", ""},
		{"She pays $1,234.50 in total. The answer is $1,234.50.", "1234.50", "1234.50"},
		{"It drops to -5 degrees. The answer is -5.", "-5", "-5"},
		{"5 + 4 = 9. The answer is 9 toys, or 10 with the gift.", "9", "10"},
		{"The answer is 18", "18", "18"}, // at the very end: read whole
		{"First 3, then 4, then 5...", "", "5"},
		{"The answer is 7. The answer is 8.", "7", "8"},
		{"Total: 1,000,000 dollars.", "", "1000000"},
		{"Ends with dots .. and $, marks", "", ""},
	} {
		if got := GSM8KStrict(tc.in); got != tc.strict {
			t.Errorf("GSM8KStrict(%q) = %q, want %q", tc.in, got, tc.strict)
		}
		if got := GSM8KFlexible(tc.in); got != tc.flexible {
			t.Errorf("GSM8KFlexible(%q) = %q, want %q", tc.in, got, tc.flexible)
		}
	}
	task := &GSM8K{}
	it := &Item{Target: "1234.5"}
	s := task.Score(it, "So $1,234.50 it is. The answer is 1,234.50.")
	if !s.Correct || !s.FlexibleCorrect {
		t.Errorf("1,234.50 against 1234.5: %+v", s)
	}
	s = task.Score(&Item{Target: "18"}, "She makes 18 dollars. The answer is 17.\n\n")
	if s.Correct || s.FlexibleCorrect || s.Answer != "17" || s.Flexible != "17" {
		t.Errorf("wrong answer scored %+v", s)
	}
	s = task.Score(&Item{Target: "18"}, "9 * 2 = 18")
	if s.Correct || !s.FlexibleCorrect {
		t.Errorf("flexible-only answer scored %+v", s)
	}
}

func TestBBHExtraction(t *testing.T) {
	for _, tc := range []struct {
		in, answer, target string
		correct            bool
	}{
		{" Bam is a player. So the answer is yes.", "yes", "yes", true},
		{" So the answer is Yes.", "Yes", "yes", true},           // case ignored
		{" So the answer is No.\n\nQ: next", "No", "Yes", false}, // yes/no
		{"So the answer is (B).", "(B)", "(B)", true},
		{"So the answer is (B) a blue ball.", "(B) a blue ball", "(B)", true},
		{"So the answer is B.", "B", "(B)", true},
		{"So the answer is (C).", "(C)", "(B)", false},
		{"So the answer is Bob.", "Bob", "(B)", false}, // a word starting with B is no letter
		{"I am not sure.", "", "(A)", false},           // no answer
		{"So the answer is costume counterpart oven.", "costume counterpart oven", "costume counterpart oven", true},
		{"So the answer is costume  oven counterpart.", "costume oven counterpart", "costume counterpart oven", false}, // order matters
		{"So the answer is -24.", "-24", "-24", true},
		{"So the answer is 24. So the answer is 25.", "24. So the answer is 25", "24", false}, // one line: up to its end
		{"So the answer is ] ].", "] ]", "] ]", true},
		{"So the answer is valid. Done", "valid. Done", "valid", false}, // trailing text
		{"So the answer is False.", "False", "False", true},
	} {
		a := BBHAnswer(tc.in)
		if a != tc.answer {
			t.Errorf("BBHAnswer(%q) = %q, want %q", tc.in, a, tc.answer)
		}
		if got := BBHMatch(a, tc.target); got != tc.correct {
			t.Errorf("BBHMatch(%q, %q) = %v, want %v", a, tc.target, got, tc.correct)
		}
	}
}

func TestNumbersEqual(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"18", "18", true}, {"18.00", "18", true}, {"-0.5", "-.5", true}, {"18", "19", false},
		{"", "", false}, {"", "0", false}, {"1e3", "1000", false}, {"abc", "abc", true},
		{"123456789012345678901", "123456789012345678900", false},
	} {
		if got := numbersEqual(tc.a, tc.b); got != tc.want {
			t.Errorf("numbersEqual(%q, %q) = %v", tc.a, tc.b, got)
		}
	}
}
