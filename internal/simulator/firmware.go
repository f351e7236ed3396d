package simulator

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/google/uuid"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// firmwarePrefix is where the simulator's own HTTP server serves host configuration bundles:
// downloads/<token>/configBundle-<host>.tgz (GET) and uploads/<token>/configBundle.tgz (PUT).
const firmwarePrefix = "/vmgmt-firmware/"

// Names inside a configuration bundle. FirmwareManifest holds KEY=value lines (UUID, HOSTNAME,
// BUILD, FORMAT); FirmwareOptions the host's advanced options as JSON, sorted by key.
const (
	FirmwareManifest = "Manifest.txt"
	FirmwareOptions  = "advancedOptions.json"
	firmwareFormat   = "vmgmt-simulator-1"
	// maxBundleBytes bounds an upload: a real bundle is a few hundred KB.
	maxBundleBytes = 16 << 20
)

// addFirmwareSystems gives every host of the model, and every host added later, its own
// HostFirmwareSystem (vcsim has none: its hosts' configManager.firmwareSystem names an object that
// does not exist), and serves the bundles it makes and receives on the simulator's HTTP server.
// Call it before the model's server is made.
func addFirmwareSystems(model *simulator.Model) *firmwareStore {
	store := &firmwareStore{
		svc:       model.Service,
		downloads: map[string]firmwareFile{},
		uploads:   map[string]firmwareFile{},
		latest:    map[types.ManagedObjectReference]string{},
		slot:      map[types.ManagedObjectReference]string{},
		pending:   map[types.ManagedObjectReference][]byte{},
	}
	m := model.Map()
	for _, e := range m.All("HostSystem") {
		store.attach(m, e)
	}
	m.AddHandler(&firmwareAttacher{self: types.ManagedObjectReference{Type: "VmgmtFirmwareAttacher", Value: "firmware"}, store: store})
	model.Service.HandleFunc(firmwarePrefix, store.serveHTTP)
	return store
}

// firmwareFile is a bundle to download, or an upload slot, for one host and the session that
// asked for it: the HTTP side answers only requests that carry that session's cookie.
type firmwareFile struct {
	host    types.ManagedObjectReference
	session string
	data    []byte // downloads only
}

// firmwareStore holds the bundles of one simulator's hosts in memory: the latest backup of each
// host, its latest upload slot and the bundle uploaded to it, waiting for a restore.
type firmwareStore struct {
	svc *simulator.Service

	mu        sync.Mutex
	downloads map[string]firmwareFile                 // token -> bundle
	uploads   map[string]firmwareFile                 // token -> upload slot
	latest    map[types.ManagedObjectReference]string // host -> its download token
	slot      map[types.ManagedObjectReference]string // host -> its upload token
	pending   map[types.ManagedObjectReference][]byte // host -> uploaded bundle
	// ticketed counts the transfers authorized by a vCenter service ticket, not a session.
	ticketed int
}

// attach puts a HostFirmwareSystem for the host into the registry and names it in the host's
// configManager, unless the host has one already (an object put again).
func (s *firmwareStore) attach(m *simulator.Registry, obj mo.Reference) {
	h, ok := obj.(*simulator.HostSystem)
	if !ok {
		return
	}
	if ref := h.ConfigManager.FirmwareSystem; ref != nil {
		if _, ours := m.Get(*ref).(*HostFirmwareSystem); ours {
			return
		}
	}
	fw := &HostFirmwareSystem{host: h.Self, store: s}
	fw.Self.Type = "HostFirmwareSystem"
	ref := m.Put(fw).Reference()
	h.ConfigManager.FirmwareSystem = &ref
}

// firmwareAttacher attaches a firmware system to each host the registry receives after Start.
type firmwareAttacher struct {
	self  types.ManagedObjectReference
	store *firmwareStore
}

func (a *firmwareAttacher) Reference() types.ManagedObjectReference { return a.self }

func (a *firmwareAttacher) PutObject(ctx *simulator.Context, obj mo.Reference) {
	a.store.attach(ctx.Map, obj)
}

func (a *firmwareAttacher) UpdateObject(*simulator.Context, mo.Reference, []types.PropertyChange) {}

func (a *firmwareAttacher) RemoveObject(*simulator.Context, types.ManagedObjectReference) {}

// url makes a URL of the simulator's with "*" for the host, as ESXi answers: the client puts in
// the address it reached the server at.
func (s *firmwareStore) url(elem ...string) string {
	scheme := "http"
	if s.svc.TLS != nil {
		scheme = "https"
	}
	for i, e := range elem {
		elem[i] = url.PathEscape(e)
	}
	return scheme + "://*" + firmwarePrefix + strings.Join(elem, "/")
}

func newToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// serveHTTP answers GET downloads/<token>/<name> with the bundle and PUT uploads/<token>/<name>
// by keeping the body as the host's pending bundle. A request is authorized by the cookie of the
// session that asked for the URL (a client connected to the host itself), or by a vCenter
// generic service ticket (vmware_cgi_ticket; vcsim does not record the tickets it issues, so any
// UUID passes); anything else is refused (401), as ESXi refuses a transfer without either.
func (s *firmwareStore) serveHTTP(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, firmwarePrefix), "/")
	if len(parts) != 3 {
		http.NotFound(w, r)
		return
	}
	kind, token := parts[0], parts[1]
	cookie, _ := r.Cookie(soap.SessionCookieName)
	ticket, _ := r.Cookie("vmware_cgi_ticket")
	ticketed := ticket != nil && uuid.Validate(ticket.Value) == nil
	s.mu.Lock()
	var f firmwareFile
	var ok bool
	switch kind {
	case "downloads":
		f, ok = s.downloads[token]
	case "uploads":
		f, ok = s.uploads[token]
	}
	s.mu.Unlock()
	switch {
	case !ok:
		http.NotFound(w, r)
		return
	case !ticketed && (cookie == nil || cookie.Value != f.session):
		http.Error(w, "no service ticket, no session, or not the session that asked for this URL", http.StatusUnauthorized)
		return
	case ticketed:
		s.mu.Lock()
		s.ticketed++
		s.mu.Unlock()
	}
	switch {
	case kind == "downloads" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		w.Header().Set("Content-Type", "application/x-gzip")
		w.Header().Set("Content-Length", strconv.Itoa(len(f.data)))
		if r.Method == http.MethodGet {
			_, _ = w.Write(f.data)
		}
	case kind == "uploads" && (r.Method == http.MethodPut || r.Method == http.MethodPost):
		data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBundleBytes))
		if err != nil {
			http.Error(w, "reading the bundle: "+err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		s.mu.Lock()
		if s.slot[f.host] == token {
			s.pending[f.host] = data
		}
		s.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	default:
		w.Header().Set("Allow", map[string]string{"downloads": "GET, HEAD", "uploads": "PUT, POST"}[kind])
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

// HostFirmwareSystem is one host's configManager.firmwareSystem: it backs up the host's
// configuration into a bundle (its name, hardware UUID, build and advanced options) and restores
// the advanced options from one. A restore takes effect at once; the simulator does not reboot
// the host as ESXi does. A disconnected host answers HostNotConnected to every call, as through
// vCenter.
type HostFirmwareSystem struct {
	mo.HostFirmwareSystem
	host  types.ManagedObjectReference
	store *firmwareStore
}

// hostState is what a bundle records of a host, and what a restore checks.
type hostState struct {
	name, uuid, build string
	maintenance       bool
	options           *simulator.OptionManager
}

func (f *HostFirmwareSystem) state(ctx *simulator.Context) (hostState, types.BaseMethodFault) {
	h, ok := ctx.Map.Get(f.host).(*simulator.HostSystem)
	if !ok {
		return hostState{}, &types.ManagedObjectNotFound{Obj: f.host}
	}
	var st hostState
	connected := true
	ctx.WithLock(h, func() {
		connected = h.Runtime.ConnectionState != types.HostSystemConnectionStateDisconnected &&
			h.Runtime.ConnectionState != types.HostSystemConnectionStateNotResponding
		st.name = h.Name
		st.maintenance = h.Runtime.InMaintenanceMode
		if h.Summary.Hardware != nil {
			st.uuid = h.Summary.Hardware.Uuid
		}
		if h.Config != nil && h.Config.Product.Build != "" {
			st.build = h.Config.Product.Build
		}
		if ref := h.ConfigManager.AdvancedOption; ref != nil {
			st.options, _ = ctx.Map.Get(*ref).(*simulator.OptionManager)
		}
	})
	if !connected {
		// As vCenter answers any call to a host it has lost: the host is not there to ask.
		return hostState{}, &types.HostNotConnected{}
	}
	if st.options == nil {
		return hostState{}, &types.NotSupported{}
	}
	return st, nil
}

// BackupFirmwareConfiguration makes the host's bundle now and answers the URL to download it at.
func (f *HostFirmwareSystem) BackupFirmwareConfiguration(ctx *simulator.Context, _ *types.BackupFirmwareConfiguration) soap.HasFault {
	body := new(methods.BackupFirmwareConfigurationBody)
	st, fault := f.state(ctx)
	if fault != nil {
		body.Fault_ = simulator.Fault("", fault)
		return body
	}
	var settings []types.BaseOptionValue
	ctx.WithLock(st.options, func() { settings = append(settings, st.options.Setting...) })
	data, err := makeBundle(st, settings)
	if err != nil {
		body.Fault_ = simulator.Fault(err.Error(), &types.SystemError{Reason: err.Error()})
		return body
	}
	token := newToken()
	s := f.store
	s.mu.Lock()
	delete(s.downloads, s.latest[f.host])
	s.latest[f.host] = token
	s.downloads[token] = firmwareFile{host: f.host, session: sessionKey(ctx), data: data}
	s.mu.Unlock()
	body.Res = &types.BackupFirmwareConfigurationResponse{Returnval: s.url("downloads", token, "configBundle-"+st.name+".tgz")}
	return body
}

// QueryFirmwareConfigUploadURL answers a fresh URL to PUT a bundle to; an earlier one of the same
// host stops working.
func (f *HostFirmwareSystem) QueryFirmwareConfigUploadURL(ctx *simulator.Context, _ *types.QueryFirmwareConfigUploadURL) soap.HasFault {
	token := newToken()
	s := f.store
	s.mu.Lock()
	delete(s.uploads, s.slot[f.host])
	s.slot[f.host] = token
	s.uploads[token] = firmwareFile{host: f.host, session: sessionKey(ctx)}
	s.mu.Unlock()
	return &methods.QueryFirmwareConfigUploadURLBody{Res: &types.QueryFirmwareConfigUploadURLResponse{Returnval: s.url("uploads", token, "configBundle.tgz")}}
}

// RestoreFirmwareConfiguration applies the uploaded bundle's advanced options to the host. As
// ESXi: InvalidState unless the host is in maintenance mode, FileFault when nothing was uploaded,
// InvalidBundle when the upload is not a bundle, MismatchedBundle when it was made on another
// host (another hardware UUID) and force is not set. The upload is used up either way once it
// was read.
func (f *HostFirmwareSystem) RestoreFirmwareConfiguration(ctx *simulator.Context, req *types.RestoreFirmwareConfiguration) soap.HasFault {
	body := new(methods.RestoreFirmwareConfigurationBody)
	if msg, fault := f.restore(ctx, req.Force); fault != nil {
		body.Fault_ = simulator.Fault(msg, fault)
		return body
	}
	body.Res = new(types.RestoreFirmwareConfigurationResponse)
	return body
}

// restore answers the fault with its message.
func (f *HostFirmwareSystem) restore(ctx *simulator.Context, force bool) (string, types.BaseMethodFault) {
	st, fault := f.state(ctx)
	if fault != nil {
		return "", fault
	}
	if !st.maintenance {
		return "the host is not in maintenance mode", &types.InvalidState{}
	}
	s := f.store
	s.mu.Lock()
	data, ok := s.pending[f.host]
	delete(s.pending, f.host)
	s.mu.Unlock()
	if !ok {
		return "no bundle was uploaded", &types.FileFault{File: "configBundle.tgz"}
	}
	b, err := ReadFirmwareBundle(bytes.NewReader(data))
	if err != nil {
		return "invalid bundle: " + err.Error(), &types.InvalidBundle{PlatformConfigFault: types.PlatformConfigFault{Text: err.Error()}}
	}
	if b.UUID != st.uuid && !force {
		return "the bundle was made on host " + b.HostName, &types.MismatchedBundle{BundleUuid: b.UUID, HostUuid: st.uuid, BundleBuildNumber: buildNumber(b.Build), HostBuildNumber: buildNumber(st.build)}
	}
	return "", applyOptions(ctx, st.options, b.Options)
}

// ResetFirmwareToFactoryDefaults puts HostOptions back (InvalidState unless in maintenance mode).
func (f *HostFirmwareSystem) ResetFirmwareToFactoryDefaults(ctx *simulator.Context, _ *types.ResetFirmwareToFactoryDefaults) soap.HasFault {
	body := new(methods.ResetFirmwareToFactoryDefaultsBody)
	st, fault := f.state(ctx)
	if fault == nil && !st.maintenance {
		fault = &types.InvalidState{}
	}
	if fault == nil {
		fault = applyOptions(ctx, st.options, HostOptions)
	}
	if fault != nil {
		body.Fault_ = simulator.Fault("", fault)
		return body
	}
	body.Res = new(types.ResetFirmwareToFactoryDefaultsResponse)
	return body
}

func applyOptions(ctx *simulator.Context, om *simulator.OptionManager, options map[string]any) types.BaseMethodFault {
	keys := make([]string, 0, len(options))
	for k := range options {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	changes := make([]types.BaseOptionValue, 0, len(keys))
	for _, k := range keys {
		changes = append(changes, &types.OptionValue{Key: k, Value: options[k]})
	}
	var res soap.HasFault
	ctx.WithLock(om, func() { res = om.UpdateOptions(&types.UpdateOptions{ChangedValue: changes}) })
	if f := res.Fault(); f != nil {
		if mf, ok := f.VimFault().(types.BaseMethodFault); ok {
			return mf
		}
		return &types.SystemError{Reason: "updating the advanced options"}
	}
	return nil
}

func sessionKey(ctx *simulator.Context) string {
	if ctx.Session == nil {
		return ""
	}
	return ctx.Session.Key
}

func buildNumber(build string) int32 {
	n, _ := strconv.ParseInt(build, 10, 32)
	return int32(n)
}

// FirmwareBundle is what a simulator's configuration bundle holds.
type FirmwareBundle struct {
	UUID, HostName, Build string
	// Options are the advanced options with their Go types as the host holds them (int64 for a
	// long option, int32, string, bool).
	Options map[string]any
}

// bundleOption is one advanced option in FirmwareOptions, with its vSphere type.
type bundleOption struct {
	Key   string          `json:"key"`
	Type  string          `json:"type"`
	Value json.RawMessage `json:"value"`
}

// makeBundle writes the gzipped tar of a host's state: Manifest.txt and advancedOptions.json,
// with fixed times, owners and modes, so the same state gives the same bytes.
func makeBundle(st hostState, settings []types.BaseOptionValue) ([]byte, error) {
	opts := make([]bundleOption, 0, len(settings))
	for _, s := range settings {
		o := s.GetOptionValue()
		var typ string
		switch o.Value.(type) {
		case int64:
			typ = "long"
		case int32:
			typ = "int"
		case bool:
			typ = "boolean"
		case string:
			typ = "string"
		default:
			return nil, fmt.Errorf("advanced option %q has a value of type %T, which a bundle cannot hold", o.Key, o.Value)
		}
		v, err := json.Marshal(o.Value)
		if err != nil {
			return nil, err
		}
		opts = append(opts, bundleOption{Key: o.Key, Type: typ, Value: v})
	}
	sort.Slice(opts, func(i, j int) bool { return opts[i].Key < opts[j].Key })
	optJSON, err := json.MarshalIndent(opts, "", "  ")
	if err != nil {
		return nil, err
	}
	manifest := fmt.Sprintf("UUID=%s\nHOSTNAME=%s\nBUILD=%s\nFORMAT=%s\n", st.uuid, st.name, st.build, firmwareFormat)

	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range []struct {
		name string
		data []byte
	}{{FirmwareManifest, []byte(manifest)}, {FirmwareOptions, append(optJSON, '\n')}} {
		hdr := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.data)), Typeflag: tar.TypeReg, Format: tar.FormatUSTAR}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ReadFirmwareBundle reads a bundle the simulator made; an error says what is wrong with it.
func ReadFirmwareBundle(r io.Reader) (*FirmwareBundle, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("not a gzip file: %w", err)
	}
	tr := tar.NewReader(zr)
	files := map[string][]byte{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("not a tar archive: %w", err)
		}
		data, err := io.ReadAll(io.LimitReader(tr, maxBundleBytes))
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", hdr.Name, err)
		}
		files[hdr.Name] = data
	}
	manifest, ok := files[FirmwareManifest]
	if !ok {
		return nil, fmt.Errorf("no %s", FirmwareManifest)
	}
	b := &FirmwareBundle{Options: map[string]any{}}
	fields := map[string]string{}
	for _, line := range strings.Split(string(manifest), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			fields[k] = v
		}
	}
	if fields["FORMAT"] != firmwareFormat {
		return nil, fmt.Errorf("%s: format %q, want %q", FirmwareManifest, fields["FORMAT"], firmwareFormat)
	}
	b.UUID, b.HostName, b.Build = fields["UUID"], fields["HOSTNAME"], fields["BUILD"]
	raw, ok := files[FirmwareOptions]
	if !ok {
		return nil, fmt.Errorf("no %s", FirmwareOptions)
	}
	var opts []bundleOption
	if err := json.Unmarshal(raw, &opts); err != nil {
		return nil, fmt.Errorf("%s: %w", FirmwareOptions, err)
	}
	for _, o := range opts {
		v, err := decodeOption(o)
		if err != nil {
			return nil, fmt.Errorf("%s: option %q: %w", FirmwareOptions, o.Key, err)
		}
		b.Options[o.Key] = v
	}
	return b, nil
}

func decodeOption(o bundleOption) (any, error) {
	switch o.Type {
	case "long":
		var n int64
		err := json.Unmarshal(o.Value, &n)
		return n, err
	case "int":
		var n int32
		err := json.Unmarshal(o.Value, &n)
		return n, err
	case "boolean":
		var v bool
		err := json.Unmarshal(o.Value, &v)
		return v, err
	case "string":
		var v string
		err := json.Unmarshal(o.Value, &v)
		return v, err
	}
	return nil, fmt.Errorf("unknown type %q", o.Type)
}

// HostBundleTicketedTransfers counts the host bundle downloads and uploads that a vCenter
// service ticket authorized (rather than the session that asked for the URL).
func (s *Sim) HostBundleTicketedTransfers() int {
	s.firmware.mu.Lock()
	defer s.firmware.mu.Unlock()
	return s.firmware.ticketed
}
