# Adopt an item that is already published in vCenter, by its catalog name.
import {
  to = vmgmt_catalog_item.db_server
  id = "db-server"
}
