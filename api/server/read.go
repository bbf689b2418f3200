package server

// readRoutes wires the Chef-compatible read endpoints merged over shards.
func (s *Server) readRoutes() {}
