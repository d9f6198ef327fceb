package rates

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"
)

// NumberType says what kind of line a number is, as libphonenumber sees it.
type NumberType string

const (
	TypeFixedLine         NumberType = "fixed_line"
	TypeMobile            NumberType = "mobile"
	TypeFixedLineOrMobile NumberType = "fixed_line_or_mobile" // NANP and a few others cannot tell
	TypeTollFree          NumberType = "toll_free"
	TypePremiumRate       NumberType = "premium_rate"
	TypeSharedCost        NumberType = "shared_cost"
	TypeVoIP              NumberType = "voip"
	TypePersonalNumber    NumberType = "personal_number"
	TypePager             NumberType = "pager"
	TypeUAN               NumberType = "uan"
	TypeVoicemail         NumberType = "voicemail"
	TypeUnknown           NumberType = "unknown"
)

var numberTypes = map[phonenumbers.PhoneNumberType]NumberType{
	phonenumbers.FIXED_LINE:           TypeFixedLine,
	phonenumbers.MOBILE:               TypeMobile,
	phonenumbers.FIXED_LINE_OR_MOBILE: TypeFixedLineOrMobile,
	phonenumbers.TOLL_FREE:            TypeTollFree,
	phonenumbers.PREMIUM_RATE:         TypePremiumRate,
	phonenumbers.SHARED_COST:          TypeSharedCost,
	phonenumbers.VOIP:                 TypeVoIP,
	phonenumbers.PERSONAL_NUMBER:      TypePersonalNumber,
	phonenumbers.PAGER:                TypePager,
	phonenumbers.UAN:                  TypeUAN,
	phonenumbers.VOICEMAIL:            TypeVoicemail,
	phonenumbers.UNKNOWN:              TypeUnknown,
}

// refusedTypes cost the caller more than any rate says (premium and
// shared-cost numbers bill the caller on top of termination) or reach a
// service rather than a person, so they are never dialled.
var refusedTypes = map[NumberType]bool{
	TypePremiumRate: true,
	TypeSharedCost:  true,
	TypeUAN:         true,
	TypeVoicemail:   true,
	TypePager:       true,
}

// Number is a phone number that Mobayilo may dial.
type Number struct {
	E164          string     `json:"e164"`          // "+33612345678"
	Region        string     `json:"region"`        // ISO 3166 code, "FR"; "001" for non-geographic codes such as +882
	CountryCode   int        `json:"country_code"`  // 33
	National      string     `json:"national"`      // "06 12 34 56 78"
	International string     `json:"international"` // "+33 6 12 34 56 78"
	Type          NumberType `json:"type"`          // "mobile"
}

// Reason is why a number was refused. Its value is stable: the API sends it
// as the error code.
type Reason string

const (
	ReasonEmpty          Reason = "empty"
	ReasonNotANumber     Reason = "not_a_number"
	ReasonUnknownCountry Reason = "unknown_country"
	ReasonRegionRequired Reason = "region_required"
	ReasonUnknownRegion  Reason = "unknown_region"
	ReasonTooShort       Reason = "too_short"
	ReasonTooLong        Reason = "too_long"
	ReasonInvalid        Reason = "invalid_number"
	ReasonNotDialable    Reason = "not_dialable"
)

// ErrInvalidNumber is matched, with errors.Is, by every *NumberError.
var ErrInvalidNumber = errors.New("invalid phone number")

// NumberError is why Normalize refused its input. Read the details with
// errors.As; Error() is a message for the person who typed the number.
type NumberError struct {
	Input  string
	Reason Reason
	// Region is the country the number was judged against, when that matters
	// to the message (ReasonInvalid, ReasonUnknownRegion); empty when the
	// number's calling code is shared by several (+1, +44, ...).
	Region string
	// CountryCode is the calling code the number was read with, 0 if none.
	CountryCode int
	// Type is the refused kind of number, for ReasonNotDialable.
	Type NumberType
}

func (e *NumberError) Error() string {
	switch e.Reason {
	case ReasonEmpty:
		return "enter a phone number"
	case ReasonNotANumber:
		return "not a phone number: use digits, spaces and an optional leading +"
	case ReasonUnknownCountry:
		return "unknown country: no country calling code matches; add the country code, e.g. +33"
	case ReasonRegionRequired:
		return "national number needs a country: add the country code, e.g. +33, or choose a country"
	case ReasonUnknownRegion:
		return fmt.Sprintf("unknown country %q: use a two-letter code such as FR or US", e.Region)
	case ReasonTooShort:
		return "phone number is too short: check it and include the area code"
	case ReasonTooLong:
		return "phone number is too long"
	case ReasonInvalid:
		switch {
		case e.Region != "" && e.Region != nonGeoRegion:
			return "not a valid number for " + e.Region
		case e.CountryCode != 0:
			return fmt.Sprintf("not a valid +%d number", e.CountryCode)
		}
		return "not a valid phone number"
	case ReasonNotDialable:
		switch e.Type {
		case TypePremiumRate:
			return "premium-rate numbers cannot be called"
		case TypeSharedCost:
			return "shared-cost numbers cannot be called"
		case TypeUAN, TypeVoicemail, TypePager:
			return "service numbers (company, voicemail and pager access) cannot be called"
		}
		return "this number cannot be called from abroad"
	}
	return "invalid phone number"
}

// Is makes errors.Is(err, ErrInvalidNumber) true.
func (e *NumberError) Is(target error) bool { return target == ErrInvalidNumber }

// nonGeoRegion is libphonenumber's region for +800, +882 and other
// non-geographic calling codes.
const nonGeoRegion = "001"

// maxDigits bounds the digits worth parsing: an international prefix (at
// most 4 digits), a calling code (3) and a national number (17).
const maxDigits = 24

// Normalize turns what a user typed into a number Mobayilo may dial.
// defaultRegion (ISO 3166, any case, may be empty) is used, and checked, only
// for numbers given without a country code, such as "0612345678" with "FR":
// a number written with its country code stands on its own. The input may
// contain spaces, dots, dashes, slashes and parentheses; letters are refused.
// A number written with the "00" international prefix is accepted without a
// region, and also with a region whose own international prefix differs.
//
// Errors are *NumberError (matching ErrInvalidNumber). Numbers libphonenumber
// does not know as dialable from abroad, and premium-rate, shared-cost, UAN,
// voicemail and pager numbers, are refused with ReasonNotDialable.
func Normalize(input, defaultRegion string) (Number, error) {
	region := strings.ToUpper(strings.TrimSpace(defaultRegion))
	cc := 0
	fail := func(r Reason) (Number, error) {
		return Number{}, &NumberError{Input: input, Reason: r, Region: region, CountryCode: cc}
	}
	if strings.TrimSpace(input) == "" {
		return fail(ReasonEmpty)
	}
	digits, plus, ok := cleanNumber(input)
	if !ok || digits == "" {
		return fail(ReasonNotANumber)
	}
	if len(digits) > maxDigits {
		return fail(ReasonTooLong)
	}
	idd := !plus && strings.HasPrefix(digits, "00")
	var (
		num *phonenumbers.PhoneNumber
		err error
	)
	switch {
	case plus:
		num, err = phonenumbers.Parse("+"+digits, "")
	case region == "" && idd:
		num, err = phonenumbers.Parse("+"+digits[2:], "")
	case region == "":
		return fail(ReasonRegionRequired)
	case !phonenumbers.GetSupportedRegions()[region]:
		return fail(ReasonUnknownRegion)
	default:
		num, err = phonenumbers.Parse(digits, region)
		if idd && (err != nil || !phonenumbers.IsValidNumber(num)) {
			// "00" is the international prefix almost everywhere; a user in
			// a "011" country (NANP) who writes it still means +.
			if alt, altErr := phonenumbers.Parse("+"+digits[2:], ""); altErr == nil && phonenumbers.IsValidNumber(alt) {
				num, err = alt, nil
			}
		}
	}
	if err != nil {
		return fail(parseReason(err))
	}

	cc = int(num.GetCountryCode())
	home := phonenumbers.GetRegionCodeForCountryCode(cc)
	if home == "ZZ" {
		return fail(ReasonUnknownCountry)
	}
	if plus || idd || cc != phonenumbers.GetCountryCodeForRegion(region) {
		// The number named its country: judge it by that, without naming
		// one region for a code several share (+1 is the US, Canada,
		// Jamaica...).
		region = home
		if len(phonenumbers.GetRegionCodesForCountryCode(cc)) > 1 {
			region = ""
		}
	}
	switch phonenumbers.IsPossibleNumberWithReason(num) {
	case phonenumbers.TOO_SHORT, phonenumbers.IS_POSSIBLE_LOCAL_ONLY:
		return fail(ReasonTooShort)
	case phonenumbers.TOO_LONG:
		return fail(ReasonTooLong)
	case phonenumbers.INVALID_COUNTRY_CODE:
		return fail(ReasonUnknownCountry)
	}
	if !phonenumbers.IsValidNumber(num) {
		return fail(ReasonInvalid)
	}
	typ := numberTypes[phonenumbers.GetNumberType(num)]
	if refusedTypes[typ] || !dialableFromAbroad(num) {
		return Number{}, &NumberError{Input: input, Reason: ReasonNotDialable, Region: region, CountryCode: cc, Type: typ}
	}
	return Number{
		E164:          phonenumbers.Format(num, phonenumbers.E164),
		Region:        phonenumbers.GetRegionCodeForNumber(num),
		CountryCode:   cc,
		National:      phonenumbers.Format(num, phonenumbers.NATIONAL),
		International: phonenumbers.Format(num, phonenumbers.INTERNATIONAL),
		Type:          typ,
	}, nil
}

// cleanNumber keeps the digits of s, converted to ASCII, and whether s starts
// with '+'. It reports false when s holds anything but digits, one leading
// plus, white space and the punctuation people write numbers with.
func cleanNumber(s string) (digits string, plus bool, ok bool) {
	var b strings.Builder
	for _, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case digitValue(r) >= 0:
			b.WriteByte(byte('0' + digitValue(r)))
		case r == '+' || r == '＋':
			if plus || b.Len() > 0 {
				return "", false, false
			}
			plus = true
		case unicode.IsSpace(r), unicode.Is(unicode.Pd, r), strings.ContainsRune(".()/", r):
		default:
			return "", false, false
		}
	}
	return b.String(), plus, true
}

// digitValue reads the non-ASCII digits phone keyboards produce: full-width,
// Arabic-Indic and Eastern Arabic-Indic. It returns -1 for anything else.
func digitValue(r rune) int {
	for _, zero := range []rune{'０', '٠', '۰'} {
		if r >= zero && r <= zero+9 {
			return int(r - zero)
		}
	}
	return -1
}

func parseReason(err error) Reason {
	switch {
	case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
		return ReasonUnknownCountry
	case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
		return ReasonTooShort
	case errors.Is(err, phonenumbers.ErrNumTooLong):
		return ReasonTooLong
	}
	return ReasonNotANumber
}

// dialableFromAbroad reports whether num may be called from another country.
// libphonenumber keeps that test private but applies it when formatting for
// a caller abroad, which yields "" for numbers only reachable at home; the
// caller's region just needs a calling code other than num's.
func dialableFromAbroad(num *phonenumbers.PhoneNumber) bool {
	from := "US"
	if num.GetCountryCode() == 1 {
		from = "GB"
	}
	return phonenumbers.FormatNumberForMobileDialing(num, from, false) != ""
}
