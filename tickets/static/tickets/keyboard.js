// Keyboard shortcuts of the agent UI (issue 7): j/k, enter, r, n, a, e, ?. Filled in by its owner.
