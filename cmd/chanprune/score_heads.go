package main

import "fmt"

// kvHeadMethod is the estimator that takes --heads and --kv-heads.
const kvHeadMethod = "kv-head-contribution"

// checkHeadFlags refuses, before any work, --heads and --kv-heads given to
// another method, and kv-head-contribution without them (unless resumed,
// when they come from the state), in the CLI's terms.
func checkHeadFlags(set map[string]bool, method string, resumed bool) error {
	for _, name := range []string{"heads", "kv-heads"} {
		if set[name] && set["method"] && method != kvHeadMethod {
			return fmt.Errorf("--%s: only --method %s takes it, not %s", name, kvHeadMethod, method)
		}
		if !set[name] && method == kvHeadMethod && !resumed {
			return fmt.Errorf("--method %s needs --heads Q and --kv-heads KV, the attention's query and KV heads", kvHeadMethod)
		}
	}
	return nil
}
