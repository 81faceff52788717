// Canned responses: "/" and a name in the reply box inserts one, its variables filled in. Filled in by its owner.
