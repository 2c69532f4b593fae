package proxy

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the proxy's Prometheus collectors, on their own registry so
// several proxies (tests) can live in one process.
type metrics struct {
	reg        *prometheus.Registry
	requests   prometheus.Counter
	redirects  *prometheus.CounterVec
	retries    prometheus.Counter
	nodeErrors *prometheus.CounterVec
	refreshes  prometheus.Counter
	clients    prometheus.Gauge
	latency    prometheus.Histogram
	movedC     prometheus.Counter
	askC       prometheus.Counter
	crossSlot  prometheus.Counter
	splitCmds  prometheus.Counter
	fanoutCmds prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounter(prometheus.CounterOpts{Name: "slotvault_proxy_requests_total",
		Help: "Client commands handled."})
	m.redirects = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "slotvault_proxy_redirects_total",
		Help: "MOVED and ASK redirections followed."}, []string{"type"})
	m.retries = prometheus.NewCounter(prometheus.CounterOpts{Name: "slotvault_proxy_retries_total",
		Help: "Commands re-sent after TRYAGAIN, CLUSTERDOWN or a lost node connection."})
	m.nodeErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "slotvault_proxy_node_errors_total",
		Help: "Failed dials and broken connections, per node."}, []string{"node"})
	m.refreshes = prometheus.NewCounter(prometheus.CounterOpts{Name: "slotvault_proxy_slot_map_refreshes_total",
		Help: "Slot maps fetched with CLUSTER SLOTS."})
	m.clients = prometheus.NewGauge(prometheus.GaugeOpts{Name: "slotvault_proxy_connected_clients",
		Help: "Client connections open."})
	m.latency = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "slotvault_proxy_batch_latency_seconds",
		Help:    "Time from reading a pipelined batch of client commands to writing its last reply.",
		Buckets: prometheus.ExponentialBuckets(50e-6, 2, 16)})
	m.crossSlot = prometheus.NewCounter(prometheus.CounterOpts{Name: "slotvault_proxy_crossslot_total",
		Help: "Commands refused with CROSSSLOT."})
	m.splitCmds = prometheus.NewCounter(prometheus.CounterOpts{Name: "slotvault_proxy_split_commands_total",
		Help: "Multi-key commands split across slots."})
	m.fanoutCmds = prometheus.NewCounter(prometheus.CounterOpts{Name: "slotvault_proxy_fanout_commands_total",
		Help: "Whole-cluster commands sent to every master."})
	m.reg.MustRegister(m.requests, m.redirects, m.retries, m.nodeErrors, m.refreshes, m.clients,
		m.latency, m.crossSlot, m.splitCmds, m.fanoutCmds)
	m.movedC = m.redirects.WithLabelValues("moved")
	m.askC = m.redirects.WithLabelValues("ask")
	return m
}

func (m *metrics) nodeError(addr string) { m.nodeErrors.WithLabelValues(addr).Inc() }
