package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
)

// Rows streams every row of a search as NDJSON, one line held at a time,
// in name order (opts.Order "none": as shards deliver them). Breaking out
// of the loop closes the stream. An error ends the sequence: before the
// first row it is the request's (*Error, ...); a failed shard is reported
// last, as a *PartialError with the shard summary, unless
// opts.AllowPartial. opts.Start, Rows and Cursor do not apply.
//
//	for row, err := range c.Rows(ctx, "node", "role:web", nil) {
//		if err != nil { return err }
//		fmt.Println(row.Name)
//	}
func (c *Client) Rows(ctx context.Context, index, query string, opts *SearchOptions) iter.Seq2[Row, error] {
	return func(yield func(Row, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var o SearchOptions
		if opts != nil {
			o = *opts
		}
		o.Start, o.Rows, o.Cursor = 0, 0, ""
		r, err := c.searchRequest(index, query, &o)
		if err != nil {
			yield(Row{}, err)
			return
		}
		r.accept = "application/x-ndjson"
		res, err := c.call(ctx, r)
		if err != nil {
			yield(Row{}, err)
			return
		}
		// Closing the body mid-stream drops the connection, which tells
		// Shearch to stop asking the shards.
		defer res.Body.Close()
		lines := &lineReader{r: bufio.NewReaderSize(res.Body, 64<<10), max: c.maxBytes()}
		for {
			line, err := lines.next()
			if err != nil {
				if errors.Is(err, io.EOF) {
					err = fmt.Errorf("the stream of %s %s ended before its summary line: the answer is incomplete: %w", r.method, r.path, io.ErrUnexpectedEOF)
				} else if ctx.Err() != nil {
					err = fmt.Errorf("reading the stream of %s %s: %w", r.method, r.path, ctx.Err())
				} else {
					err = fmt.Errorf("reading the stream of %s %s: %w", r.method, r.path, err)
				}
				yield(Row{}, err)
				return
			}
			switch {
			case bytes.HasPrefix(line, []byte(`{"summary":`)):
				var end struct {
					Summary Result `json:"summary"`
				}
				if err := json.Unmarshal(line, &end); err != nil {
					yield(Row{}, fmt.Errorf("the summary line of %s %s is not the expected JSON: %w", r.method, r.path, err))
					return
				}
				if perr := partial(end.Summary.Shards, res.Header, o.AllowPartial); perr != nil {
					yield(Row{}, perr)
				}
				return
			case bytes.HasPrefix(line, []byte(`{"error":`)):
				var end struct {
					Error []string `json:"error"`
				}
				json.Unmarshal(line, &end)
				yield(Row{}, &PartialError{Messages: end.Error, Shards: headerSummary(res.Header), RequestID: res.Header.Get("X-Request-Id")})
				return
			}
			var row Row
			if err := json.Unmarshal(line, &row); err != nil {
				yield(Row{}, fmt.Errorf("a row of %s %s is not the expected JSON: %w", r.method, r.path, err))
				return
			}
			if !yield(row, nil) {
				return
			}
		}
	}
}

// lineReader reads one line at a time, each at most max bytes.
type lineReader struct {
	r   *bufio.Reader
	max int64
	buf []byte
}

// next returns the next line without its newline, valid until the next
// call.
func (l *lineReader) next() ([]byte, error) {
	l.buf = l.buf[:0]
	for {
		frag, err := l.r.ReadSlice('\n')
		l.buf = append(l.buf, frag...)
		if int64(len(l.buf)) > l.max {
			return nil, fmt.Errorf("a line over %d bytes (Config.MaxResponseBytes)", l.max)
		}
		switch {
		case err == nil:
			line := bytes.TrimRight(l.buf, "\r\n")
			if len(line) == 0 {
				l.buf = l.buf[:0]
				continue
			}
			return line, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(bytes.TrimSpace(l.buf)) > 0:
			return nil, io.ErrUnexpectedEOF
		default:
			return nil, err
		}
	}
}

// Pages walks a whole search page by page, following each page's
// NextCursor: a walk that neither skips nor repeats rows while nodes come
// and go. opts.Rows is the page size. A page some shards failed to
// contribute to comes with a *PartialError (unless opts.AllowPartial);
// the walk goes on if the loop does. Any other error ends it.
func (c *Client) Pages(ctx context.Context, index, query string, opts *SearchOptions) iter.Seq2[*Result, error] {
	return func(yield func(*Result, error) bool) {
		var o SearchOptions
		if opts != nil {
			o = *opts
		}
		for {
			res, err := c.Search(ctx, index, query, &o)
			var pe *PartialError
			if err != nil && !errors.As(err, &pe) {
				yield(nil, err)
				return
			}
			if !yield(res, err) || res.NextCursor == "" || len(res.Rows) == 0 {
				return
			}
			o.Cursor, o.Start = res.NextCursor, 0
		}
	}
}
