package knife

import (
	"errors"
	"strings"
)

// rubyError is an exception knife's own Ruby code raises, which
// Knife#run_with_pretty_exceptions turns into its messages and exit 100.
type rubyError struct {
	class, message string
}

func (e *rubyError) Error() string { return e.class + ": " + e.message }

// rubyAddress stands for the address Ruby prints for an object whose
// #inspect is too long for an error message ("#<Chef::Environment:0x...>").
// It differs on every knife run, so no bytes can match it; gnife prints
// zeros in its place (README, "Differences from knife").
const rubyAddress = "0x0000000000000000"

// noMethod is Ruby 2.7's NoMethodError for `recv.method` (error.c,
// name_err_mesg_to_str): the receiver's #inspect when it is at most 65
// bytes, else "#<Class:0xADDRESS>"; an inspect not starting with "#" gets
// ":Class" appended. did_you_mean adds nothing for run_list on these
// receivers (no method within its edit distance).
func noMethod(method string, recv any) *rubyError {
	desc, class := rubyReceiver(recv)
	if desc == "" || len(desc) > 65 {
		desc = "#<" + class + ":" + rubyAddress + ">"
	}
	if !strings.HasPrefix(desc, "#") {
		desc += ":" + class
	}
	return &rubyError{class: "NoMethodError", message: "undefined method `" + method + "' for " + desc}
}

// rubyReceiver is the receiver's #inspect and class name as knife holds
// it; inspect is "" where it is always over 65 bytes.
func rubyReceiver(v any) (inspect, class string) {
	switch x := v.(type) {
	case *environment:
		// Object#inspect lists the instance variables.
		return "", "Chef::Environment"
	case *apiClient:
		// ApiClient#inspect, "Chef::ApiClient name:'' admin:'false'
		// validator:'false' public_key:'' private_key:''" at the least.
		return "", "Chef::ApiClient"
	case *dataBagItem:
		return "data_bag_item[" + rubyInspect(x.bag) + ", " + rubyInspect(x.raw["id"]) + ", " + rubyInspect(x.raw) + "]", "Chef::DataBagItem"
	case *node:
		return "", "Chef::Node"
	case *role:
		return "", "Chef::Role"
	case map[string]any:
		return rubyInspect(x), "Hash"
	}
	return rubyInspect(v), "Object"
}

// UnexpectedError is Knife#humanize_exception's NameError/NoMethodError
// branch (chef 16.12.3, lib/chef/knife.rb): what knife prints on stderr,
// before exiting 100, when its own code fails, such as `knife search -r`
// on rows that have no run list. command is the knife command's
// common_name ("search").
func UnexpectedError(command, class, message string) []byte {
	var b []byte
	b = append(b, Error("knife encountered an unexpected error")...)
	b = append(b, Info("This may be a bug in the '"+command+"' knife command or plugin")...)
	b = append(b, Info("Please collect the output of this command with the `-VVV` option before filing a bug report.")...)
	return append(b, Info("Exception: "+class+": "+message)...)
}

// unexpected turns a rubyError into knife's output for it.
func unexpected(command string, err error) (Output, bool) {
	var re *rubyError
	if !errors.As(err, &re) {
		return Output{}, false
	}
	return Output{Stderr: UnexpectedError(command, re.class, re.message), Exit: ExitHTTPError}, true
}
