package api_test

import (
	"reflect"
	"time"

	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/api"
	"github.com/mobayilo/mobayilo/internal/app"
	"github.com/mobayilo/mobayilo/internal/config"
)

// deps is the API's services on db, as production builds them, with every
// field set in over (the edges, or a service a test holds) taking over.
func deps(cfg config.Config, db *gorm.DB, over api.Deps) api.Deps {
	d := app.APIDeps(cfg, db, time.Minute)
	dv, ov := reflect.ValueOf(&d).Elem(), reflect.ValueOf(over)
	for i := range ov.NumField() {
		if f := ov.Field(i); !f.IsZero() {
			dv.Field(i).Set(f)
		}
	}
	return d
}
