package api

import "github.com/gin-gonic/gin"

// registerSignIn adds sign-in, sign-up, magic links, password reset, sign
// out, the dev mailbox and the subscriber API.
func (h *handlers) registerSignIn(r gin.IRouter) {}
