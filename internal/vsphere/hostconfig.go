package vsphere

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// hostFirmware is a host's name and its configManager.firmwareSystem.
type hostFirmware struct {
	id, name string
	fw       types.ManagedObjectReference
}

func (h hostFirmware) String() string { return fmt.Sprintf("%s (%s)", h.name, h.id) }

// firmwareOf reads the host's name and firmware system in one call.
func (c *Client) firmwareOf(ctx context.Context, hostID string) (hostFirmware, error) {
	var o mo.HostSystem
	ref := types.ManagedObjectReference{Type: "HostSystem", Value: hostID}
	if err := c.collector().RetrieveOne(ctx, ref, []string{"name", "configManager.firmwareSystem"}, &o); err != nil {
		return hostFirmware{}, wrapNotFound("host", hostID, fmt.Errorf("reading host %s: %w", hostID, err))
	}
	h := hostFirmware{id: hostID, name: o.Name}
	if o.ConfigManager.FirmwareSystem == nil {
		return h, fmt.Errorf("host %s has no firmware system (configManager.firmwareSystem): its configuration cannot be backed up or restored through the vSphere API; check that the host is connected", h)
	}
	h.fw = *o.ConfigManager.FirmwareSystem
	return h, nil
}

// bundleURL turns a URL the host answered, with "*" for the host name as ESXi writes it, into
// the URL to transfer the bundle with, and the cookie that authorizes it (nil: the session's own).
//
// Connected to ESXi directly, the host is the server this client is connected to, and the
// session authorizes the transfer. Through vCenter, the host serves the bundle itself and knows
// nothing of vCenter's session: the URL names the host (its management IP, else its inventory
// name, or the name vCenter gives with the ticket) and a generic service ticket from vCenter
// for that URL and method authorizes it, as a vmware_cgi_ticket cookie; the host's TLS
// thumbprint comes with the ticket.
func (c *Client) bundleURL(ctx context.Context, h hostFirmware, raw, method string) (*url.URL, *http.Cookie, error) {
	u, err := url.Parse(strings.Replace(raw, "://*/", "://placeholder/", 1))
	if err != nil || u.Path == "" {
		return nil, nil, fmt.Errorf("host %s answered the configuration bundle URL %q, which is not a URL", h, raw)
	}
	u.Scheme, u.Host = c.url.Scheme, c.url.Host
	if !c.vim.IsVC() {
		return u, nil, nil
	}
	u.Host = h.name
	ips, err := object.NewHostSystem(c.vim, types.ManagedObjectReference{Type: "HostSystem", Value: h.id}).ManagementIPs(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the management address of host %s: %w", h, err)
	}
	if len(ips) > 0 {
		u.Host = ips[0].String()
		if ips[0].To4() == nil {
			u.Host = "[" + u.Host + "]"
		}
	}
	spec := types.SessionManagerHttpServiceRequestSpec{Url: u.String(), Method: method}
	ticket, err := session.NewManager(c.vim).AcquireGenericServiceTicket(ctx, &spec)
	if err != nil {
		return nil, nil, fmt.Errorf("asking vCenter for a ticket to transfer the configuration bundle of host %s: %w", h, err)
	}
	if ticket.HostName != "" && ticket.HostName != "localhost" {
		u.Host = ticket.HostName
	}
	if ticket.SslThumbprint != "" {
		c.vim.SetThumbprint(u.Host, ticket.SslThumbprint)
	}
	return u, &http.Cookie{Name: hostTicketCookie, Value: ticket.Id}, nil
}

// hostTicketCookie carries a vCenter generic service ticket to an ESXi host.
const hostTicketCookie = "vmware_cgi_ticket"

// BackupHostConfig backs up the configuration of the host (a managed object ID) as ESXi's
// configuration bundle (configBundle-<host>.tgz): it asks the host's firmware system for a backup
// and streams the bundle into w, through this client's session and TLS settings. It returns the
// bytes written.
//
// The bundle's URL names the host as "*"; see bundleURL for where it is fetched from.
func (c *Client) BackupHostConfig(ctx context.Context, hostID string, w io.Writer) (int64, error) {
	ctx, cancel := contextWithTimeout(ctx, c)
	defer cancel()
	h, err := c.firmwareOf(ctx, hostID)
	if err != nil {
		return 0, err
	}
	res, err := methods.BackupFirmwareConfiguration(ctx, c.vim, &types.BackupFirmwareConfiguration{This: h.fw})
	if err != nil {
		return 0, fmt.Errorf("backing up the configuration of host %s: %w", h, err)
	}
	u, ticket, err := c.bundleURL(ctx, h, res.Returnval, string(types.SessionManagerHttpServiceRequestSpecMethodHttpGet))
	if err != nil {
		return 0, err
	}
	dl := soap.DefaultDownload
	dl.Ticket = ticket
	rc, _, err := c.vim.Download(ctx, u, &dl)
	if err != nil {
		return 0, fmt.Errorf("downloading the configuration bundle of host %s from %s: %w", h, u.Host, err)
	}
	defer rc.Close()
	n, err := io.Copy(w, rc)
	if err != nil {
		return n, fmt.Errorf("downloading the configuration bundle of host %s: %w after %d bytes", h, err, n)
	}
	return n, nil
}

// RestoreHostConfig uploads a configuration bundle (size bytes from r; a negative size when it is
// not known) to the host and restores the host's configuration from it. ESXi reboots the host
// afterwards.
//
// The host must be in maintenance mode, and RestoreHostConfig does not put it there: the caller
// moves or stops the host's VMs and enters maintenance mode first (object.HostSystem's
// EnterMaintenanceMode), and leaves it afterwards. A bundle made on another host is refused unless
// force is set.
func (c *Client) RestoreHostConfig(ctx context.Context, hostID string, r io.Reader, size int64, force bool) error {
	ctx, cancel := contextWithTimeout(ctx, c)
	defer cancel()
	h, err := c.firmwareOf(ctx, hostID)
	if err != nil {
		return err
	}
	res, err := methods.QueryFirmwareConfigUploadURL(ctx, c.vim, &types.QueryFirmwareConfigUploadURL{This: h.fw})
	if err != nil {
		return fmt.Errorf("restoring the configuration of host %s: asking where to upload the bundle: %w", h, err)
	}
	u, ticket, err := c.bundleURL(ctx, h, res.Returnval, string(types.SessionManagerHttpServiceRequestSpecMethodHttpPut))
	if err != nil {
		return err
	}
	p := soap.DefaultUpload
	p.Ticket = ticket
	p.Type = "application/x-gzip"
	p.ContentLength = size
	if err := c.vim.Upload(ctx, r, u, &p); err != nil {
		return fmt.Errorf("restoring the configuration of host %s: uploading the bundle to %s: %w", h, u.Host, err)
	}
	_, err = methods.RestoreFirmwareConfiguration(ctx, c.vim, &types.RestoreFirmwareConfiguration{This: h.fw, Force: force})
	if err != nil {
		return restoreError(h, err)
	}
	return nil
}

// restoreError says what to do about the host's refusal to restore.
func restoreError(h hostFirmware, err error) error {
	var mismatch *types.MismatchedBundle
	_, mismatched := fault.As(err, &mismatch)
	switch {
	case fault.Is(err, &types.InvalidState{}):
		return fmt.Errorf("host %s is not in maintenance mode: move or power off its VMs and put it in maintenance mode before restoring its configuration: %w", h, err)
	case mismatched:
		return fmt.Errorf("the bundle was made on another host (UUID %s; host %s has UUID %s): restore it with force to apply it anyway: %w", mismatch.BundleUuid, h, mismatch.HostUuid, err)
	case fault.Is(err, &types.InvalidBundle{}):
		return fmt.Errorf("host %s refused the bundle as corrupt or not a configuration bundle: give a bundle made by a backup of the host, complete: %w", h, err)
	case fault.Is(err, &types.FileFault{}):
		return fmt.Errorf("host %s found no uploaded bundle to restore (did the upload fail?): %w", h, err)
	}
	return fmt.Errorf("restoring the configuration of host %s: %w", h, err)
}

func contextWithTimeout(ctx context.Context, c *Client) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.cfg.APITimeout)
}
