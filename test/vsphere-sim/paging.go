package main

// Debian's govmomi (0.24) simulator answers RetrievePropertiesEx with every object at once and
// has no ContinueRetrievePropertiesEx. vCenter pages: at most options.maxObjects per answer, and a
// token for the rest. pagedCollector adds that paging to the simulator's PropertyCollector, so the
// client's continuation-token loop is tested against the same protocol vCenter speaks.

import (
	"fmt"
	"sync"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// Embedded by value: the simulator makes each session's collector with reflect.New of this type.
type pagedCollector struct {
	simulator.PropertyCollector
}

type pending struct {
	objects []types.ObjectContent
	max     int
}

var (
	pagesMu sync.Mutex
	pages   = map[string]pending{}
	nextTok int
)

func installPaging(ref types.ManagedObjectReference) {
	pc := simulator.Map.Get(ref).(*simulator.PropertyCollector)
	w := &pagedCollector{}
	w.Self = pc.Self
	simulator.Map.Put(w)
}

// page keeps what exceeds max under a new token.
func page(objects []types.ObjectContent, max int) types.RetrieveResult {
	if max <= 0 || len(objects) <= max {
		return types.RetrieveResult{Objects: objects}
	}
	pagesMu.Lock()
	defer pagesMu.Unlock()
	nextTok++
	token := fmt.Sprintf("page-%d", nextTok)
	pages[token] = pending{objects: objects[max:], max: max}
	return types.RetrieveResult{Objects: objects[:max], Token: token}
}

func (pc *pagedCollector) RetrievePropertiesEx(ctx *simulator.Context, r *types.RetrievePropertiesEx) soap.HasFault {
	res := pc.PropertyCollector.RetrievePropertiesEx(ctx, r)
	body, ok := res.(*methods.RetrievePropertiesExBody)
	if !ok || body.Res == nil || body.Res.Returnval == nil {
		return res
	}
	paged := page(body.Res.Returnval.Objects, int(r.Options.MaxObjects))
	body.Res.Returnval = &paged
	return body
}

func (pc *pagedCollector) ContinueRetrievePropertiesEx(r *types.ContinueRetrievePropertiesEx) soap.HasFault {
	body := &methods.ContinueRetrievePropertiesExBody{}
	pagesMu.Lock()
	p, ok := pages[r.Token]
	delete(pages, r.Token)
	pagesMu.Unlock()
	if !ok {
		body.Fault_ = simulator.Fault("unknown token", &types.InvalidArgument{InvalidProperty: "token"})
		return body
	}
	body.Res = &types.ContinueRetrievePropertiesExResponse{Returnval: page(p.objects, p.max)}
	return body
}

func (pc *pagedCollector) CancelRetrievePropertiesEx(r *types.CancelRetrievePropertiesEx) soap.HasFault {
	pagesMu.Lock()
	delete(pages, r.Token)
	pagesMu.Unlock()
	return &methods.CancelRetrievePropertiesExBody{Res: &types.CancelRetrievePropertiesExResponse{}}
}
