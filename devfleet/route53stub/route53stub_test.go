package route53stub_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/shearch/shearch/devfleet/route53stub"
)

const zone = "ZTEST123"

// start runs a stand-in and returns it with a real SDK client pointed at it.
func start(t *testing.T, opts route53stub.Options) (*route53stub.Server, *route53.Client) {
	t.Helper()
	s := route53stub.New(opts)
	url, err := s.Start("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c := route53.New(route53.Options{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint:     aws.String(url),
		RetryMaxAttempts: 1,
	})
	return s, c
}

func mustUpsert(t *testing.T, s *route53stub.Server, recs ...route53stub.Record) {
	t.Helper()
	for _, r := range recs {
		if err := s.Upsert(zone, r); err != nil {
			t.Fatal(err)
		}
	}
}

func weighted(name, id string, w int64, target string) route53stub.Record {
	return route53stub.Record{Name: name, Type: "CNAME", SetIdentifier: id, Weight: w, Target: target, TTL: 60}
}

func key(rr types.ResourceRecordSet) string {
	return aws.ToString(rr.Name) + " " + string(rr.Type) + " " + aws.ToString(rr.SetIdentifier)
}

// The SDK's own paginator walks the whole zone one record a page, in
// Route53's order (labels reversed, then type, then set identifier), with
// every field it reads intact.
func TestSDKPagesWholeZoneInRoute53Order(t *testing.T) {
	t.Parallel()
	s, c := start(t, route53stub.Options{Zones: []string{zone}, PageSize: 1})
	mustUpsert(t, s,
		weighted("chef.prod.example.com", "chef-2", 0, "chef-2.prod.example.com."),
		weighted("chef.prod.example.com.", "chef-1", 20, "chef-1.prod.example.com"),
		route53stub.Record{Name: "www.example.com.", Type: "A", Target: "192.0.2.1", TTL: 300},
		route53stub.Record{Name: "a.chef.prod.example.com.", Type: "TXT", Target: `"x"`, TTL: 300},
		route53stub.Record{Name: "chef-x.prod.example.com.", Type: "A", Target: "192.0.2.2", TTL: 300},
		route53stub.Record{Name: "example.com.", Type: "TXT", Target: `"v=spf1"`, TTL: 300},
		route53stub.Record{Name: "example.com.", Type: "MX", Target: "10 mail.example.com.", TTL: 300},
	)
	p := route53.NewListResourceRecordSetsPaginator(c, &route53.ListResourceRecordSetsInput{
		HostedZoneId: aws.String(zone), MaxItems: aws.Int32(100)})
	var got []string
	var first types.ResourceRecordSet
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(out.ResourceRecordSets) != 1 || aws.ToInt32(out.MaxItems) != 1 {
			t.Fatalf("page %d: %d records, MaxItems %d; want the server's page size 1", pages, len(out.ResourceRecordSets), aws.ToInt32(out.MaxItems))
		}
		for _, rr := range out.ResourceRecordSets {
			if rr.SetIdentifier != nil && first.Name == nil {
				first = rr
			}
			got = append(got, key(rr))
		}
	}
	want := []string{
		"example.com. MX ", "example.com. TXT ",
		// chef-x sorts before chef. because '-' < '.' once labels are reversed.
		"chef-x.prod.example.com. A ",
		"chef.prod.example.com. CNAME chef-1", "chef.prod.example.com. CNAME chef-2",
		"a.chef.prod.example.com. TXT ",
		"www.example.com. A ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("order:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if pages != len(want) {
		t.Fatalf("%d pages, want %d", pages, len(want))
	}
	if aws.ToInt64(first.Weight) != 20 || aws.ToInt64(first.TTL) != 60 || len(first.ResourceRecords) != 1 ||
		aws.ToString(first.ResourceRecords[0].Value) != "chef-1.prod.example.com" {
		t.Fatalf("weighted record fields lost: %+v", first)
	}
}

// A start point of name, type and identifier lands where Route53 would, and
// the Next* fields continue from there.
func TestListStartPointAndNextRecord(t *testing.T) {
	t.Parallel()
	s, c := start(t, route53stub.Options{Zones: []string{zone}})
	for i := range 5 {
		mustUpsert(t, s, weighted("chef.prod.example.com.", fmt.Sprintf("chef-%d", i), int64(i), fmt.Sprintf("chef-%d.prod.example.com", i)))
	}
	mustUpsert(t, s, route53stub.Record{Name: "zz.example.com.", Type: "A", Target: "192.0.2.9", TTL: 60})
	out, err := c.ListResourceRecordSets(t.Context(), &route53.ListResourceRecordSetsInput{
		HostedZoneId: aws.String(zone), StartRecordName: aws.String("CHEF.prod.example.com"),
		StartRecordType: types.RRTypeCname, StartRecordIdentifier: aws.String("chef-2"), MaxItems: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.ResourceRecordSets) != 2 || aws.ToString(out.ResourceRecordSets[0].SetIdentifier) != "chef-2" ||
		aws.ToString(out.ResourceRecordSets[1].SetIdentifier) != "chef-3" {
		t.Fatalf("got %v", out.ResourceRecordSets)
	}
	if !out.IsTruncated || aws.ToString(out.NextRecordName) != "chef.prod.example.com." ||
		out.NextRecordType != types.RRTypeCname || aws.ToString(out.NextRecordIdentifier) != "chef-4" {
		t.Fatalf("next = %v %v %v %v", out.IsTruncated, aws.ToString(out.NextRecordName), out.NextRecordType, aws.ToString(out.NextRecordIdentifier))
	}
	// The last page of the zone: not truncated, and no Next* at all.
	out, err = c.ListResourceRecordSets(t.Context(), &route53.ListResourceRecordSetsInput{
		HostedZoneId: aws.String(zone), StartRecordName: aws.String("zz.example.com.")})
	if err != nil {
		t.Fatal(err)
	}
	if out.IsTruncated || out.NextRecordName != nil || len(out.ResourceRecordSets) != 1 {
		t.Fatalf("last page: %+v", out)
	}
}

// Asking for more than 300 yields 300, as Route53 does.
func TestMaxItemsCappedAt300(t *testing.T) {
	t.Parallel()
	s, c := start(t, route53stub.Options{Zones: []string{zone}})
	for i := range 305 {
		mustUpsert(t, s, route53stub.Record{Name: fmt.Sprintf("h%03d.example.com", i), Type: "A", Target: "192.0.2.1", TTL: 60})
	}
	out, err := c.ListResourceRecordSets(t.Context(), &route53.ListResourceRecordSetsInput{
		HostedZoneId: aws.String(zone), MaxItems: aws.Int32(1000)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.ResourceRecordSets) != 300 || !out.IsTruncated || aws.ToString(out.NextRecordName) != "h300.example.com." {
		t.Fatalf("%d records, truncated %v, next %v", len(out.ResourceRecordSets), out.IsTruncated, aws.ToString(out.NextRecordName))
	}
}

// CREATE, UPSERT and DELETE through the SDK, with Route53's refusals parsed
// by the SDK into its own error types.
func TestChangeResourceRecordSetsWithSDK(t *testing.T) {
	t.Parallel()
	s, c := start(t, route53stub.Options{Zones: []string{zone}})
	change := func(action types.ChangeAction, id string, w int64, target string) error {
		_, err := c.ChangeResourceRecordSets(t.Context(), &route53.ChangeResourceRecordSetsInput{
			HostedZoneId: aws.String("/hostedzone/" + zone),
			ChangeBatch: &types.ChangeBatch{Comment: aws.String("test"), Changes: []types.Change{{
				Action: action,
				ResourceRecordSet: &types.ResourceRecordSet{Name: aws.String("chef.prod.example.com."), Type: types.RRTypeCname,
					SetIdentifier: aws.String(id), Weight: aws.Int64(w), TTL: aws.Int64(60),
					ResourceRecords: []types.ResourceRecord{{Value: aws.String(target)}}},
			}}},
		})
		return err
	}
	out, err := c.ChangeResourceRecordSets(t.Context(), &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(zone),
		ChangeBatch: &types.ChangeBatch{Changes: []types.Change{{Action: types.ChangeActionCreate,
			ResourceRecordSet: &types.ResourceRecordSet{Name: aws.String("chef.prod.example.com."), Type: types.RRTypeCname,
				SetIdentifier: aws.String("chef-1"), Weight: aws.Int64(10), TTL: aws.Int64(60),
				ResourceRecords: []types.ResourceRecord{{Value: aws.String("chef-1.prod.example.com")}}}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.ChangeInfo == nil || !strings.HasPrefix(aws.ToString(out.ChangeInfo.Id), "/change/") ||
		out.ChangeInfo.Status != types.ChangeStatusInsync || out.ChangeInfo.SubmittedAt == nil {
		t.Fatalf("ChangeInfo = %+v", out.ChangeInfo)
	}
	var icb *types.InvalidChangeBatch
	if err := change(types.ChangeActionCreate, "chef-1", 10, "chef-1.prod.example.com"); !errors.As(err, &icb) ||
		!strings.Contains(strings.Join(icb.Messages, " "), "already exists") {
		t.Fatalf("duplicate CREATE: %v", err)
	}
	if err := change(types.ChangeActionUpsert, "chef-1", 0, "chef-1.prod.example.com"); err != nil {
		t.Fatal(err)
	}
	if recs := s.Records(zone); len(recs) != 1 || recs[0].Weight != 0 {
		t.Fatalf("after UPSERT: %+v", recs)
	}
	if err := change(types.ChangeActionDelete, "chef-1", 5, "chef-1.prod.example.com"); !errors.As(err, &icb) ||
		!strings.Contains(strings.Join(icb.Messages, " "), "do not match") {
		t.Fatalf("DELETE with wrong values: %v", err)
	}
	if err := change(types.ChangeActionDelete, "chef-1", 0, "chef-1.prod.example.com"); err != nil {
		t.Fatal(err)
	}
	if err := change(types.ChangeActionDelete, "chef-1", 0, "chef-1.prod.example.com"); !errors.As(err, &icb) {
		t.Fatalf("DELETE of a missing record: %v", err)
	}
	if recs := s.Records(zone); len(recs) != 0 {
		t.Fatalf("after DELETE: %+v", recs)
	}
}

func TestUnknownZoneIsNoSuchHostedZone404(t *testing.T) {
	t.Parallel()
	_, c := start(t, route53stub.Options{Zones: []string{zone}})
	_, err := c.ListResourceRecordSets(t.Context(), &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String("ZNOPE")})
	var nsz *types.NoSuchHostedZone
	if !errors.As(err, &nsz) || !strings.Contains(nsz.ErrorMessage(), "ZNOPE") {
		t.Fatalf("err = %v, want NoSuchHostedZone naming the zone", err)
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusNotFound {
		t.Fatalf("err = %v, want HTTP 404", err)
	}
}

// Route53 refuses unsigned requests, so must the stand-in.
func TestUnsignedRequestRefused(t *testing.T) {
	t.Parallel()
	s, _ := start(t, route53stub.Options{Zones: []string{zone}})
	resp, err := http.Get(s.URL() + "/2013-04-01/hostedzone/" + zone + "/rrset")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "<Code>MissingAuthenticationToken</Code>") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
}

// Records survive Close, so a test can simulate an outage and a recovery
// on the same address.
func TestCloseAndRestartKeepsRecords(t *testing.T) {
	t.Parallel()
	s, c := start(t, route53stub.Options{Zones: []string{zone}})
	mustUpsert(t, s, weighted("chef.prod.example.com.", "chef-1", 1, "chef-1.prod.example.com"))
	addr := s.Addr()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	in := &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zone)}
	if _, err := c.ListResourceRecordSets(t.Context(), in); err == nil {
		t.Fatal("stopped stand-in answered")
	}
	if _, err := s.Start(addr); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	out, err := c.ListResourceRecordSets(ctx, in)
	if err != nil || len(out.ResourceRecordSets) != 1 {
		t.Fatalf("after restart: %v %v", out, err)
	}
	if err := s.Delete(zone, "chef.prod.example.com", "cname", "chef-1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(zone, "chef.prod.example.com", "CNAME", "chef-1"); err == nil {
		t.Fatal("deleting a missing record succeeded")
	}
}
