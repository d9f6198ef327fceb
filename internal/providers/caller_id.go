package providers

// ValidationRequest is Twilio's answer to an Outgoing Caller ID validation
// request: the code the owner keys in during Twilio's call.
type ValidationRequest struct {
	ValidationCode string
	CallSID        string
}
