package api

import "github.com/gin-gonic/gin"

// registerAdmin adds the operators' admin area and company admins' seat and
// domain management.
func (h *handlers) registerAdmin(r gin.IRouter) {}
