package knife

import (
	"regexp"
	"sync"
)

// lazyRegexp compiles its pattern on first use. Most gnife runs print
// neither YAML nor option help, and compiling every pattern at start-up
// (the Unicode classes above all) was a visible part of gnife's start.
type lazyRegexp struct {
	src  string
	once sync.Once
	re   *regexp.Regexp
}

func lazyRE(src string) *lazyRegexp { return &lazyRegexp{src: src} }

func (l *lazyRegexp) get() *regexp.Regexp {
	l.once.Do(func() { l.re = regexp.MustCompile(l.src) })
	return l.re
}

func (l *lazyRegexp) MatchString(s string) bool { return l.get().MatchString(s) }

func (l *lazyRegexp) FindStringSubmatch(s string) []string { return l.get().FindStringSubmatch(s) }
