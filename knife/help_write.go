package knife

// knife 16.12.3's write commands: banners and own options, as declared in
// lib/chef/knife/*.rb.
func addWriteCommands(commands map[string]command) {
	after := option{key: "after", short: "-a ITEM", long: "--after ITEM", desc: "Place the ENTRY in the run list after ITEM."}
	before := option{key: "before", short: "-b ITEM", long: "--before ITEM", desc: "Place the ENTRY in the run list before ITEM."}
	for name, c := range map[string]command{
		"node delete":          {"knife node delete [NODE [NODE]] (options)", nil},
		"node run_list add":    {"knife node run_list add [NODE] [ENTRY [ENTRY]] (options)", [][]option{opts(after, before)}},
		"node run_list remove": {"knife node run_list remove [NODE] [ENTRY [ENTRY]] (options)", nil},
		"node run_list set":    {"knife node run_list set NODE ENTRIES (options)", nil},
		"node environment set": {"knife node environment set NODE ENVIRONMENT", nil},
		"node from file":       {"knife node from file FILE (options)", nil},
		"node edit": {"knife node edit NODE (options)", [][]option{opts(
			option{key: "all_attributes", short: "-a", long: "--all", desc: "Display all attributes when editing."})}},
		"tag create":         {"knife tag create NODE TAG ...", nil},
		"tag delete":         {"knife tag delete NODE TAG ...", nil},
		"role from file":     {"knife role from file FILE [FILE..] (options)", nil},
		"role delete":        {"knife role delete ROLE (options)", nil},
		"role edit":          {"knife role edit ROLE (options)", nil},
		"environment delete": {"knife environment delete ENVIRONMENT (options)", nil},
		"environment from file": {"knife environment from file FILE [FILE..] (options)", [][]option{opts(
			option{key: "all", short: "-a", long: "--all", desc: "Upload all environments."})}},
		"data bag create": {"knife data bag create BAG [ITEM] (options)", [][]option{dataBagSecretOptions}},
		"data bag from file": {"knife data bag from file BAG FILE|FOLDER [FILE|FOLDER..] (options)", [][]option{dataBagSecretOptions, opts(
			option{key: "all", short: "-a", long: "--all", desc: "Upload all data bags or all items for specified data bags."})}},
		"data bag delete": {"knife data bag delete BAG [ITEM] (options)", nil},
	} {
		commands[name] = c
	}
}

// UsageFatal is knife's show_usage plus ui.fatal: "USAGE: " and the
// command's help on stdout, "FATAL: msg" on stderr, exit status 1.
func UsageFatal(cmd, msg string) (Output, bool) {
	help, ok := Help(cmd)
	if !ok {
		return Output{}, false
	}
	return Output{Stdout: []byte("USAGE: " + help), Stderr: Fatal(msg), Exit: ExitFailure}, true
}
