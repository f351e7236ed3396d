# By the item's catalog name (the definition is read from the template that carries it):
terraform import vmgmt_catalog_item.db_server db-server
