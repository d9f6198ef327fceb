// Package rates prices calls: it holds the per-destination rate table
// (embedded sample data, synced into the rates table), finds the rate for a
// number by longest prefix, and normalises what users type into E.164.
package rates

import (
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/mobayilo/mobayilo/models"
)

//go:generate go run ./gen -o data/rates.csv

//go:embed data/rates.csv
var defaultCSV string

// Header is the first non-comment line every rates CSV must carry.
const Header = "prefix,iso,country,destination,individual_cents,company_cents"

// maxPrefixLen bounds a prefix: no E.164 number is longer than 15 digits.
const maxPrefixLen = 15

// Errors returned by ParseCSV and Replace. Check them with errors.Is.
var (
	// ErrInvalidRates is matched by every *CSVError and every rejected rate.
	ErrInvalidRates = errors.New("invalid rates")
	// ErrNoRates: the input held no rate at all. Replacing the table with
	// nothing would make every destination uncallable, so it is refused.
	ErrNoRates = errors.New("no rates")
)

// CSVError names the line of a rates CSV that is wrong. It matches
// ErrInvalidRates with errors.Is.
type CSVError struct {
	Line    int
	Problem string
}

func (e *CSVError) Error() string { return fmt.Sprintf("rates csv line %d: %s", e.Line, e.Problem) }

// Is makes errors.Is(err, ErrInvalidRates) true.
func (e *CSVError) Is(target error) bool { return target == ErrInvalidRates }

// Default returns the rates embedded in the binary (data/rates.csv).
func Default() ([]models.Rate, error) {
	return ParseCSV(strings.NewReader(defaultCSV))
}

// ParseCSV reads rates in the data/rates.csv format: lines starting with '#'
// are comments, the first other line is Header, and each further line is one
// rate. Every bad line is reported, joined, as a *CSVError naming its line;
// an input without rates returns ErrNoRates.
func ParseCSV(r io.Reader) ([]models.Rate, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1 // checked below, so the error can name the line
	cr.TrimLeadingSpace = true

	var (
		rs      []models.Rate
		errs    []error
		seen    = map[string]int{} // prefix -> line
		sawHead bool
	)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, errors.Join(append(errs, &CSVError{Line: pe.Line, Problem: pe.Err.Error()})...)
			}
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		if !sawHead {
			sawHead = true
			if strings.Join(rec, ",") != Header {
				errs = append(errs, &CSVError{Line: line, Problem: "header must be " + Header})
			}
			continue
		}
		rate, problem := parseRecord(rec)
		if problem == "" {
			if first, dup := seen[rate.Prefix]; dup {
				problem = fmt.Sprintf("duplicate prefix %s (first on line %d)", rate.Prefix, first)
			}
		}
		if problem != "" {
			errs = append(errs, &CSVError{Line: line, Problem: problem})
			continue
		}
		seen[rate.Prefix] = line
		rs = append(rs, rate)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(rs) == 0 {
		return nil, ErrNoRates
	}
	return rs, nil
}

func parseRecord(rec []string) (models.Rate, string) {
	if len(rec) != 6 {
		return models.Rate{}, fmt.Sprintf("want 6 fields (%s), got %d", Header, len(rec))
	}
	for i := range rec {
		rec[i] = strings.TrimSpace(rec[i])
	}
	ind, err := strconv.ParseInt(rec[4], 10, 64)
	if err != nil {
		return models.Rate{}, fmt.Sprintf("individual_cents %q is not a whole number of cents", rec[4])
	}
	comp, err := strconv.ParseInt(rec[5], 10, 64)
	if err != nil {
		return models.Rate{}, fmt.Sprintf("company_cents %q is not a whole number of cents", rec[5])
	}
	r := models.Rate{Prefix: rec[0], ISO: rec[1], Country: rec[2], Destination: rec[3], IndividualCents: ind, CompanyCents: comp}
	return r, validateRate(r)
}

// validateRate returns what is wrong with r, or "" when nothing is.
func validateRate(r models.Rate) string {
	switch {
	case r.Prefix == "" || len(r.Prefix) > maxPrefixLen || !allDigits(r.Prefix):
		return fmt.Sprintf("prefix %q must be 1 to %d digits (E.164 without '+')", r.Prefix, maxPrefixLen)
	case r.Prefix[0] == '0':
		return fmt.Sprintf("prefix %q cannot start with 0: no country calling code does", r.Prefix)
	case len(r.ISO) != 2 || !isUpper(r.ISO[0]) || !isUpper(r.ISO[1]):
		return fmt.Sprintf("iso %q must be two uppercase letters", r.ISO)
	case r.Country == "":
		return "country is empty"
	case r.Destination == "":
		return "destination is empty"
	case r.IndividualCents <= 0:
		return fmt.Sprintf("individual_cents %d must be positive", r.IndividualCents)
	case r.CompanyCents <= 0:
		return fmt.Sprintf("company_cents %d must be positive", r.CompanyCents)
	case r.CompanyCents > r.IndividualCents:
		return fmt.Sprintf("company_cents %d must not exceed individual_cents %d", r.CompanyCents, r.IndividualCents)
	}
	return ""
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

// Table is an immutable in-memory rate table. It is safe for concurrent use.
type Table struct {
	rates []models.Rate // sorted by prefix
	// trie over the prefix digits; node 0 is the root. rate is an index into
	// rates plus one, 0 meaning no rate ends at that node.
	nodes []trieNode
	byISO map[string][]models.Rate
}

type trieNode struct {
	next [10]int32
	rate int32
}

// NewTable builds a table from rs, which it copies. ParseCSV and Replace
// refuse duplicate prefixes; should rs still repeat one, the last wins.
func NewTable(rs []models.Rate) *Table {
	last := make(map[string]int, len(rs))
	for i, r := range rs {
		last[r.Prefix] = i
	}
	t := &Table{byISO: map[string][]models.Rate{}}
	for i, r := range rs {
		if last[r.Prefix] == i {
			t.rates = append(t.rates, r)
		}
	}
	slices.SortFunc(t.rates, func(a, b models.Rate) int { return strings.Compare(a.Prefix, b.Prefix) })

	t.nodes = []trieNode{{}}
	for i, r := range t.rates {
		if !allDigits(r.Prefix) {
			continue // unreachable by Lookup, which only walks digits
		}
		n := int32(0)
		for j := 0; j < len(r.Prefix); j++ {
			d := r.Prefix[j] - '0'
			if t.nodes[n].next[d] == 0 {
				t.nodes = append(t.nodes, trieNode{})
				t.nodes[n].next[d] = int32(len(t.nodes) - 1)
			}
			n = t.nodes[n].next[d]
		}
		t.nodes[n].rate = int32(i + 1)
		iso := strings.ToUpper(r.ISO)
		t.byISO[iso] = append(t.byISO[iso], r)
	}
	return t
}

// Lookup returns the rate with the longest prefix of e164's digits. A leading
// '+' is allowed; any other non-digit makes the lookup fail.
func (t *Table) Lookup(e164 string) (models.Rate, bool) {
	s := strings.TrimPrefix(e164, "+")
	best := int32(0)
	n := int32(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return models.Rate{}, false
		}
		n = t.nodes[n].next[c-'0']
		if n == 0 {
			break
		}
		if r := t.nodes[n].rate; r != 0 {
			best = r
		}
	}
	if best == 0 {
		return models.Rate{}, false
	}
	return t.rates[best-1], true
}

// ForISO returns the rates of one country, ISO 3166 code in any case,
// sorted by prefix. The slice is the caller's to keep or change.
func (t *Table) ForISO(iso string) []models.Rate {
	return slices.Clone(t.byISO[strings.ToUpper(iso)])
}

// All returns every rate, sorted by prefix. The slice is the caller's.
func (t *Table) All() []models.Rate { return slices.Clone(t.rates) }

// Len is the number of rates in the table.
func (t *Table) Len() int { return len(t.rates) }

// PriceCents is r's per-minute price for audience a. Anything other than
// AudienceCompany pays the individual price, which is never the lower one.
func PriceCents(r models.Rate, a models.RateAudience) int64 {
	if a == models.AudienceCompany {
		return r.CompanyCents
	}
	return r.IndividualCents
}

// CallCostCents is the cost of a call billed per started minute:
// ceil(billableSeconds/60) × perMinuteCents, in integer arithmetic.
// Zero or negative seconds cost nothing (a call that never connected), and so
// does a negative rate: a charge must never turn into a credit.
func CallCostCents(billableSeconds int64, perMinuteCents int64) int64 {
	if billableSeconds <= 0 || perMinuteCents <= 0 {
		return 0
	}
	minutes := billableSeconds / 60
	if billableSeconds%60 != 0 {
		minutes++
	}
	return minutes * perMinuteCents
}
