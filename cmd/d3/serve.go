package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/d3-project/d3/depth"
	"github.com/d3-project/d3/engine"
	"github.com/d3-project/d3/model"
	"github.com/d3-project/d3/server"
)

func init() {
	register(command{"serve", "serve the OpenAI API (chat and text completions) over HTTP", runServe})
}

const serveSynopsis = `[-m PATH] [--addr 127.0.0.1:8080] [--ctx N] [--parallel N] [--queue N] [--api-key KEY]
           [--chat-template llama2|llama3|chatml | --chat-template-file F] [--d3-profile F|DIR]...
           [--d3-* defaults] [--temp T] [--max-body BYTES] [--threads N]

Serves the OpenAI API: POST /v1/chat/completions and /v1/completions (streamed
or not), GET /v1/models, /health and /metrics (Prometheus text). Up to
--parallel sequences decode together, one KV cache slot each; --queue more
wait, and beyond that requests get 503 with Retry-After.

A request's "d3" object sets its own depth schedule: {"alpha":0.95,
"order":"middle","core_head":2,"core_tail":2,"start":0,"keep":N,"min_layers":M,
"kv":"none|propagate"}, or {"profile":"NAME"} (optionally with overrides)
for a profile loaded with --d3-profile. Fields left out take the built-in
defaults (or the profile's). Requests without one use the --d3-* flags.

--d3-profile takes a profile file or a directory of *.json profiles and may be
repeated; profiles are selected by their "name" (the file name without .json
when it has none). When exactly one profile is loaded it is also the default
schedule, as in d3 generate; --d3-default-profile NAME picks one otherwise.
Explicit --d3-* flags override the default profile.

Sampling defaults (for requests that leave them out) are llama.cpp server's:
temperature 0.8, top-k 40, top-p 0.95, min-p 0.05; temperature 0 (or below
1e-4) is greedy. Shuts down gracefully on SIGINT or SIGTERM: in-flight requests
get --shutdown-timeout to finish, then are cancelled.`

// profileList collects --d3-profile values (files or directories).
type profileList []string

func (p *profileList) String() string     { return strings.Join(*p, ",") }
func (p *profileList) Set(v string) error { *p = append(*p, v); return nil }

func runServe(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", serveSynopsis, stderr)
	modelPath := fs.String("m", "", "model: a Hugging Face directory or a .gguf file (default: the bundled model)")
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on (host:port; port 0 picks a free one)")
	def := server.DefaultConfig()
	ctxSize := fs.Int("ctx", 0, "context size of each sequence, prompt plus answer (0 = the model's)")
	parallel := fs.Int("parallel", def.Parallel, "sequences decoded together (one KV cache slot each)")
	queue := fs.Int("queue", def.QueueLen, "requests that may wait for a slot; beyond them 503")
	threads := fs.Int("threads", 0, "worker threads (0 = all CPUs)")
	apiKey := fs.String("api-key", "", "require Authorization: Bearer KEY on every endpoint but /health (default: $D3_API_KEY)")
	maxBody := fs.Int64("max-body", def.MaxBody, "largest request body in bytes")
	alias := fs.String("alias", "", "model name in /v1/models and responses (default: the model file's name)")
	chatTemplate := fs.String("chat-template", "", "built-in chat template to use instead of the model's: "+strings.Join(server.BuiltinTemplateNames(), ", "))
	chatTemplateFile := fs.String("chat-template-file", "", "Jinja chat template file to use instead of the model's")
	temp := fs.Float64("temp", def.Sample.Temperature, "default temperature (0 = greedy)")
	topK := fs.Int("top-k", def.Sample.TopK, "default top-k (0 = off)")
	topP := fs.Float64("top-p", def.Sample.TopP, "default top-p (1 = off)")
	minP := fs.Float64("min-p", def.Sample.MinP, "default min-p (0 = off)")
	repeatPenalty := fs.Float64("repeat-penalty", def.Sample.RepeatPenalty, "default repetition penalty (1 = off)")
	repeatLastN := fs.Int("repeat-last-n", def.Sample.RepeatLastN, "tokens the repetition penalty looks back over (-1 = all)")
	maxTokens := fs.Int("n", def.MaxTokens, "default max_tokens (-1: until end of generation or the context is full)")
	readTimeout := fs.Duration("read-timeout", def.ReadTimeout, "time allowed to read a request")
	writeTimeout := fs.Duration("write-timeout", def.WriteTimeout, "time allowed for each write of an answer or stream chunk")
	shutdownTimeout := fs.Duration("shutdown-timeout", def.ShutdownTimeout, "on SIGINT/SIGTERM, time in-flight requests get to finish before they are cancelled")
	quiet := fs.Bool("quiet", false, "no request log on stderr")
	var d3 d3Flags
	d3.register(fs)
	// --d3-profile is repeatable here and takes directories too.
	var profiles profileList
	pf := fs.Lookup("d3-profile")
	pf.Value = &profiles
	pf.Usage = "profile file or directory of *.json profiles, selectable by name with {\"d3\":{\"profile\":NAME}} (repeatable)"
	defaultProfile := fs.String("d3-default-profile", "", "loaded profile used by requests without a d3 object (default: the only one, if one is loaded)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q", pos[0])
	}

	if *apiKey == "" {
		*apiKey = os.Getenv("D3_API_KEY") // read here so --help never prints it
	}
	cfg := def
	cfg.ModelID, cfg.Threads, cfg.Ctx, cfg.Parallel, cfg.QueueLen = *alias, *threads, *ctxSize, *parallel, *queue
	cfg.APIKey, cfg.MaxBody, cfg.MaxTokens = *apiKey, *maxBody, *maxTokens
	cfg.Sample.Temperature, cfg.Sample.TopK, cfg.Sample.TopP, cfg.Sample.MinP = *temp, *topK, *topP, *minP
	cfg.Sample.RepeatPenalty, cfg.Sample.RepeatLastN = *repeatPenalty, *repeatLastN
	cfg.ReadTimeout, cfg.WriteTimeout, cfg.ShutdownTimeout = *readTimeout, *writeTimeout, *shutdownTimeout
	if !*quiet {
		cfg.Log = stderr
	}
	if err := cfg.Sample.Validate(); err != nil {
		return err
	}
	if *parallel < 1 || *queue < 0 || *maxBody <= 0 {
		return fmt.Errorf("--parallel must be at least 1, --queue not negative and --max-body positive")
	}
	if *maxTokens == 0 || *maxTokens < -1 {
		return fmt.Errorf("-n must be positive or -1, got %d", *maxTokens)
	}
	switch {
	case *chatTemplate != "" && *chatTemplateFile != "":
		return fmt.Errorf("give --chat-template or --chat-template-file, not both")
	case *chatTemplate != "":
		if cfg.ChatTemplate, err = server.BuiltinTemplate(*chatTemplate); err != nil {
			return err
		}
	case *chatTemplateFile != "":
		data, err := os.ReadFile(*chatTemplateFile)
		if err != nil {
			return err
		}
		cfg.ChatTemplate = string(data)
	}
	loaded, err := loadProfiles(profiles)
	if err != nil {
		return err
	}
	cfg.Profiles = map[string]depth.Profile{}
	for _, p := range loaded {
		cfg.Profiles[p.profile.Name] = p.profile
	}
	// The default schedule is the --d3-* flags over the default profile,
	// read the way d3 generate reads --d3-profile.
	switch {
	case *defaultProfile != "":
		i := slices.IndexFunc(loaded, func(p namedProfile) bool { return p.profile.Name == *defaultProfile })
		if i < 0 {
			return fmt.Errorf("--d3-default-profile %q is not among the loaded profiles", *defaultProfile)
		}
		d3.profile = loaded[i].path
	case len(loaded) == 1:
		d3.profile = loaded[0].path
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	if host, _, _ := net.SplitHostPort(ln.Addr().String()); cfg.APIKey == "" && !net.ParseIP(host).IsLoopback() {
		fmt.Fprintf(stderr, "d3 serve: warning: listening on %s without --api-key: anyone who can reach it can use it\n", ln.Addr())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second signal kills at once
	}()
	load := func(cfg *server.Config) (*model.Model, error) {
		m, err := openModel(*modelPath)
		if err != nil {
			return nil, err
		}
		L := m.Config.NumLayers
		for _, p := range loaded {
			if p.profile.NumLayers > 0 && p.profile.NumLayers != L {
				m.Close()
				return nil, fmt.Errorf("d3 profile %q (%s) was tuned for %d layers; the model has %d", p.profile.Name, p.path, p.profile.NumLayers, L)
			}
		}
		_, explicit, sched, err := d3.plans(L)
		if err != nil {
			m.Close()
			return nil, err
		}
		cfg.Schedule, cfg.LayerPlans = sched, explicit
		if cfg.Draft, err = engine.ParseDraftPolicy(d3.draft); err != nil {
			m.Close()
			return nil, err
		}
		return m, nil
	}
	return server.Run(ctx, ln, cfg, load)
}

type namedProfile struct {
	path    string
	profile depth.Profile
}

// loadProfiles reads profile files and directories of *.json profiles; a
// profile without a name is named after its file. Names must be unique.
func loadProfiles(args []string) ([]namedProfile, error) {
	var out []namedProfile
	seen := map[string]string{}
	add := func(path string) error {
		p, err := depth.LoadProfile(path)
		if err != nil {
			return err
		}
		if p.Name == "" {
			p.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		}
		if prev, dup := seen[p.Name]; dup {
			return fmt.Errorf("d3 profiles %s and %s are both named %q", prev, path, p.Name)
		}
		seen[p.Name] = path
		out = append(out, namedProfile{path, p})
		return nil
	}
	for _, arg := range args {
		st, err := os.Stat(arg)
		if err != nil {
			return nil, fmt.Errorf("--d3-profile: %w", err)
		}
		if !st.IsDir() {
			if err := add(arg); err != nil {
				return nil, err
			}
			continue
		}
		files, err := filepath.Glob(filepath.Join(arg, "*.json"))
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("--d3-profile: %s holds no *.json profiles", arg)
		}
		slices.Sort(files)
		for _, f := range files {
			if err := add(f); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}
