"""What the HTTP layers (api, web, dashboard) share: request dependencies, error shape,
body limit, pagination cursors."""
