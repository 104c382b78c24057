package eval

import (
	"strings"
	"testing"

	"github.com/d3-project/d3/internal/testutil"
)

// The exact GSM8K prompt of the first test item: the 8 exemplars of
// gsm8k-cot.yaml in lm-evaluation-harness's layout ("Q: {question}\nA:",
// a space, the target, a blank line), then the question. Written out by
// hand from the YAML (its folded lines joined by single spaces).
const wantGSM8KFirst = `Q: There are 15 trees in the grove. Grove workers will plant trees in the grove today. After they are done, there will be 21 trees. How many trees did the grove workers plant today?
A: There are 15 trees originally. Then there were 21 trees after some more were planted. So there must have been 21 - 15 = 6. The answer is 6.

Q: If there are 3 cars in the parking lot and 2 more cars arrive, how many cars are in the parking lot?
A: There are originally 3 cars. 2 more cars arrive. 3 + 2 = 5. The answer is 5.

Q: Leah had 32 chocolates and her sister had 42. If they ate 35, how many pieces do they have left in total?
A: Originally, Leah had 32 chocolates. Her sister had 42. So in total they had 32 + 42 = 74. After eating 35, they had 74 - 35 = 39. The answer is 39.

Q: Jason had 20 lollipops. He gave Denny some lollipops. Now Jason has 12 lollipops. How many lollipops did Jason give to Denny?
A: Jason started with 20 lollipops. Then he had 12 after giving some to Denny. So he gave Denny 20 - 12 = 8. The answer is 8.

Q: Shawn has five toys. For Christmas, he got two toys each from his mom and dad. How many toys does he have now?
A: Shawn started with 5 toys. If he got 2 toys each from his mom and dad, then that is 4 more toys. 5 + 4 = 9. The answer is 9.

Q: There were nine computers in the server room. Five more computers were installed each day, from monday to thursday. How many computers are now in the server room?
A: There were originally 9 computers. For each of 4 days, 5 more computers were added. So 5 * 4 = 20 computers were added. 9 + 20 is 29. The answer is 29.

Q: Michael had 58 golf balls. On tuesday, he lost 23 golf balls. On wednesday, he lost 2 more. How many golf balls did he have at the end of wednesday?
A: Michael started with 58 golf balls. After losing 23 on tuesday, he had 58 - 23 = 35. After losing 2 more, he had 35 - 2 = 33 golf balls. The answer is 33.

Q: Olivia has $23. She bought five bagels for $3 each. How much money does she have left?
A: Olivia had 23 dollars. 5 bagels for 3 dollars each will be 5 x 3 = 15 dollars. So she has 23 - 15 dollars left. 23 - 15 is 8. The answer is 8.

Q: Janet’s ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins for her friends every day with four. She sells the remainder at the farmers' market daily for $2 per fresh duck egg. How much in dollars does she make every day at the farmers' market?
A:`

// The exact BBH prompt of sports_understanding's first example: the
// cot-prompts file without its canary header, a blank line, the question
// and "A: Let's think step by step.".
const wantBBHSports = `Determine whether an artificially constructed sentence relating to sports is plausible or not.

Q: Is the following sentence plausible? "Bam Adebayo scored a reverse layup in the Western Conference Finals."
A: Let's think step by step. Bam Adebayo is an American basketball player. Scoring a reverse layup in the Western Conference Finals is part of the NBA Finals. So the answer is yes.

Q: Is the following sentence plausible? "Santi Cazorla scored a touchdown."
A: Let's think step by step. Santi Cazorla is a soccer player. Touchdown is part of American football and rugby. So the answer is no.

Q: Is the following sentence plausible? "DeMar DeRozan was called for the goal tend."
A: Let's think step by step. DeMar DeRozan is an American basketball player. Goal tending is part of basketball. So the answer is yes.

Q: Is the following sentence plausible? "Elias Lindholm beat the buzzer."
A: Let's think step by step.`

func TestGSM8KPrompt(t *testing.T) {
	task, err := LoadGSM8K(Options{Data: testutil.Shared(t, "data", "gsm8k"), Shots: -1, Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	items := task.Items()
	if len(items) != 2 {
		t.Fatalf("%d items with limit 2", len(items))
	}
	if items[0].Prompt != wantGSM8KFirst {
		t.Errorf("prompt differs at byte %d:\n got %q\nwant %q", diffAt(items[0].Prompt, wantGSM8KFirst), items[0].Prompt, wantGSM8KFirst)
	}
	if items[0].Target != "18" || items[0].ID != "test.jsonl:1" {
		t.Errorf("item 0: id %q target %q", items[0].ID, items[0].Target)
	}
	if got := task.Stop(); len(got) == 0 || got[0] != "Q:" {
		t.Errorf("stop strings %q, want \"Q:\" first (from generation_kwargs.until)", got)
	}
	// Fewer shots keep the first exemplars; 0 leaves only the question.
	zero, err := LoadGSM8K(Options{Data: testutil.Shared(t, "data", "gsm8k", "test.jsonl"), Shots: 0, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if want := wantGSM8KFirst[strings.LastIndex(wantGSM8KFirst, "Q: Janet"):]; zero.Items()[0].Prompt != want {
		t.Errorf("0-shot prompt %q, want %q", zero.Items()[0].Prompt, want)
	}
	if _, err := LoadGSM8K(Options{Data: testutil.Shared(t, "data", "gsm8k"), Shots: 9}); err == nil || !strings.Contains(err.Error(), "9 shots") {
		t.Errorf("9 shots: error %v", err)
	}
	// The parent data directory works too.
	all, err := Load("gsm8k", Options{Data: testutil.Shared(t, "data"), Shots: -1})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(all.Items()); n != 1319 {
		t.Errorf("%d GSM8K test items, want 1319", n)
	}
}

func TestBBHPrompt(t *testing.T) {
	task, err := LoadBBH(Options{Data: testutil.Shared(t, "data", "bbh"), Shots: -1, Subtasks: []string{"sports_understanding"}, Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	items := task.Items()
	if len(items) != 3 {
		t.Fatalf("%d items with limit 3", len(items))
	}
	if items[0].Prompt != wantBBHSports {
		t.Errorf("prompt differs at byte %d:\n got %q\nwant %q", diffAt(items[0].Prompt, wantBBHSports), items[0].Prompt, wantBBHSports)
	}
	if items[0].Target != "no" || items[0].ID != "sports_understanding:0" || items[0].Subtask != "sports_understanding" {
		t.Errorf("item 0: %+v", items[0])
	}
	one, err := LoadBBH(Options{Data: testutil.Shared(t, "data", "bbh"), Shots: 1, Subtasks: []string{"sports_understanding"}, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(wantBBHSports, "\n\nQ: Is the following sentence plausible? \"Santi")
	j := strings.Index(wantBBHSports, "Q: Is the following sentence plausible? \"Elias")
	if want := wantBBHSports[:i+2] + wantBBHSports[j:]; one.Items()[0].Prompt != want {
		t.Errorf("1-shot prompt %q, want %q", one.Items()[0].Prompt, want)
	}
	// All 27 tasks, 6511 examples, from the parent data directory.
	all, err := Load("bbh", Options{Data: testutil.Shared(t, "data"), Shots: -1})
	if err != nil {
		t.Fatal(err)
	}
	if n, k := len(all.Items()), len(all.(*BBH).Subtasks()); n != 6511 || k != 27 {
		t.Errorf("%d items in %d tasks, want 6511 in 27", n, k)
	}
	for _, it := range all.Items() {
		if !strings.HasSuffix(it.Prompt, "\nA: Let's think step by step.") || strings.Contains(it.Prompt, "canary") {
			t.Fatalf("%s: prompt %q", it.ID, it.Prompt[max(0, len(it.Prompt)-200):])
		}
	}
	if _, err := LoadBBH(Options{Data: testutil.Shared(t, "data", "bbh"), Subtasks: []string{"chess"}}); err == nil || !strings.Contains(err.Error(), "chess") {
		t.Errorf("unknown subtask: error %v", err)
	}
}

func TestArithPrompt(t *testing.T) {
	task, err := Load("arith", Options{Data: testutil.Shared(t, "data", "arith"), Shots: -1, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	items := task.Items()
	if len(items) != 500 {
		t.Fatalf("%d items", len(items))
	}
	want := "Question: Maya has 25 ribbons and shares them equally among 5 friends. One of them already had 5 ribbons. How many ribbons does that one have now?\nAnswer:"
	if items[0].Prompt != want || items[0].Target != "10" {
		t.Errorf("item 0: prompt %q target %q", items[0].Prompt, items[0].Target)
	}
	if _, err := Load("arith", Options{Data: testutil.Shared(t, "data", "arith"), Shots: 2}); err == nil {
		t.Error("arith with shots: no error")
	}
}

func diffAt(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
