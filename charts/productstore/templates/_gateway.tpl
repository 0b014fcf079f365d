{{/*
The store's own gateway (gateway.enabled, docs/adr/0037): nginx.conf, rendered from
the enabled services' paths with the routing rules devstack's gateway applies
(devstack/src/devstack/components/nginx_conf.py and services.py):
tests/charts/test_gateway.py renders both for the same services and checks that
the locations, their proxy headers, the security headers and the gateway's own
problem+json answers are the same.

- a path without a trailing slash (/api/products) routes itself ("= /api/products")
  and everything below it ("/api/products/"), never /api/productsfoo; one with a
  trailing slash (/api/auth/) only what is below it. nginx takes the longest prefix.
- X-Request-ID: a client's well-formed one is kept, anything else replaced by
  nginx's 32-hex $request_id; returned, logged and sent upstream.
- The gateway's own errors are application/problem+json with the request id:
  404 no route, 413 body too large, 429 rate limit (Retry-After: 1), 400, 405,
  and 503 when the service behind the route is down (nginx's 502/504).
Paths are relative to nginx's prefix (the image runs `nginx -p /tmp/`).
*/}}

{{/* One gateway problem as an nginx `return`. Takes (list status title detail). */}}
{{- define "productstore.gatewayProblem" -}}
{{- $body := printf "{\"type\":\"about:blank\",\"title\":%s,\"status\":%d,\"detail\":%s,\"request_id\":\"$gateway_request_id\"}" (index . 1 | toJson) (index . 0) (index . 2 | toJson) -}}
{{- if or (contains "'" $body) (contains "\\" $body) -}}
{{- fail (printf "a gateway problem's text may hold no ' or \\: %s" (index . 2)) -}}
{{- end -}}
return {{ index . 0 }} '{{ $body }}\n';
{{- end -}}

{{/* The gateway's locations, as a list of dicts (match, service), sorted by match. Takes $. Returns JSON. */}}
{{- define "productstore.gatewayRoutes" -}}
{{- $routes := list -}}
{{- range $name := include "productstore.enabledServices" . | fromJsonArray -}}
{{- $svc := dict -}}
{{- include "productstore.serviceValues" (dict "root" $ "name" $name "out" $svc) -}}
{{- range $key, $path := $svc.paths -}}
{{- if $path -}}
{{- if not (regexMatch "^/[A-Za-z0-9._~/-]*$" $path) -}}
{{- fail (printf "services.%s.paths.%s: %q is not a URL path the gateway can route (/, letters, digits, . _ ~ -)" $name $key $path) -}}
{{- end -}}
{{- if hasSuffix "/" $path -}}
{{- $routes = append $routes (dict "match" $path "service" $name) -}}
{{- else -}}
{{- $routes = append $routes (dict "match" (printf "= %s" $path) "service" $name) -}}
{{- $routes = append $routes (dict "match" (printf "%s/" $path) "service" $name) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $seen := dict -}}
{{- range $routes -}}
{{- if hasKey $seen .match -}}
{{- fail (printf "gateway: services %s and %s both route %q" (get $seen .match) .service .match) -}}
{{- end -}}
{{- $_ := set $seen .match .service -}}
{{- end -}}
{{- toJson $routes -}}
{{- end -}}

{{/* Where the gateway sends one service's requests: gateway.upstreams.<name>, else its ClusterIP Service. Takes (dict "root" $ "name" <service>). */}}
{{- define "productstore.gatewayUpstream" -}}
{{- $override := index .root.Values.gateway.upstreams .name -}}
{{- if $override -}}
{{- $override -}}
{{- else -}}
{{- $svc := dict -}}
{{- include "productstore.serviceValues" (dict "root" .root "name" .name "out" $svc) -}}
{{- printf "%s:%d" (include "productstore.serviceHost" .) (int $svc.port) -}}
{{- end -}}
{{- end -}}

{{/* The gateway's nginx.conf. Takes $. */}}
{{- define "productstore.gatewayConfig" -}}
{{- $gw := .Values.gateway -}}
{{- $routes := include "productstore.gatewayRoutes" . | fromJsonArray -}}
{{- $upstreams := list -}}
{{- range $routes -}}
{{- if not (has .service $upstreams) -}}
{{- $upstreams = append $upstreams .service -}}
{{- end -}}
{{- end -}}
{{- $apiCsp := "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'" -}}
# Rendered by the productstore chart (templates/_gateway.tpl) from the enabled services' paths.
worker_processes auto;
pid nginx.pid;
error_log stderr notice;

events {
    worker_connections 1024;
}

http {
    types {
        text/html html;
        text/css css;
        application/javascript js;
        application/json json;
        image/png png;
    }
    default_type application/octet-stream;

    client_body_temp_path client_body;
    proxy_temp_path proxy;
    fastcgi_temp_path fastcgi;
    uwsgi_temp_path uwsgi;
    scgi_temp_path scgi;

    map $http_x_request_id $gateway_request_id {
        "~^[A-Za-z0-9._:@-]{1,128}$" $http_x_request_id;
        default $request_id;
    }

    # The service's traceresponse names the trace; the log line records it.
    map $upstream_http_traceresponse $gateway_trace_id {
        "~^[0-9a-f]{2}-(?<trace_id>[0-9a-f]{32})-" $trace_id;
        default "-";
    }

    log_format gateway '$remote_addr [$time_local] "$request" $status $body_bytes_sent '
                       '$request_time rid=$gateway_request_id trace=$gateway_trace_id '
                       'upstream=$upstream_addr';
    access_log /dev/stdout gateway;

    keepalive_timeout 65;
    server_tokens off;

    # Rate limit per client address; health checks are never limited (an empty key).
    map $uri $gateway_limit_key {
        /healthz "";
        default $binary_remote_addr;
    }
    limit_req_zone $gateway_limit_key zone=gateway:10m rate={{ int $gw.rate }}r/s;
    limit_req_status 429;
    limit_req_log_level warn;
    client_max_body_size {{ $gw.maxBody }};

    gzip on;
    gzip_types application/json application/problem+json application/javascript text/css;
    gzip_min_length 1000;
    gzip_proxied any;
    gzip_vary on;
{{- range $name := $upstreams }}

    upstream productstore_{{ $name }} {
        server {{ include "productstore.gatewayUpstream" (dict "root" $ "name" $name) }};
        # Reused connections: without them every request pays a TCP handshake.
        keepalive 32;
    }
{{- end }}

    server {
        listen {{ int $gw.port }};
        server_name _;

        add_header X-Request-ID $gateway_request_id always;
        add_header X-Content-Type-Options nosniff always;
        add_header X-Frame-Options DENY always;
        add_header Referrer-Policy no-referrer always;
        add_header Cross-Origin-Resource-Policy same-origin always;
        add_header Content-Security-Policy "{{ $apiCsp }}" always;
        proxy_set_header X-Request-ID $gateway_request_id;
        proxy_set_header Host $host;
        # The client's address for the services; replaces any the client sent.
        proxy_set_header X-Client-Address $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header traceparent $http_traceparent;
        proxy_set_header tracestate $http_tracestate;

        limit_req zone=gateway burst={{ int $gw.burst }} nodelay;
        # nginx's own refusals are problems too, never its HTML pages.
        error_page 400 = @gateway_bad_request;
        error_page 405 = @gateway_method_not_allowed;
        error_page 413 = @gateway_too_large;
        error_page 429 = @gateway_rate_limited;
        error_page 502 504 = @gateway_unavailable;

        location = /healthz {
            default_type application/json;
            return 200 '{"status":"ok","request_id":"$gateway_request_id"}\n';
        }
{{- range $routes }}

        location {{ .match }} {
            proxy_pass http://productstore_{{ .service }};
            {{- /* An upstream that takes seconds to accept is gone: 503 then, not after nginx's 60 s. */}}
            proxy_connect_timeout 3s;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Request-ID $gateway_request_id;
            proxy_set_header Host $host;
            proxy_set_header X-Client-Address $remote_addr;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $host;
            proxy_set_header traceparent $http_traceparent;
            proxy_set_header tracestate $http_tracestate;
            proxy_hide_header X-Request-ID;
        }
{{- end }}

        location / {
            types { }
            default_type application/problem+json;
            {{ include "productstore.gatewayProblem" (list 404 "Not Found" "No service is routed at this path; the API is under /api/.") }}
        }

        location @gateway_rate_limited {
            types { }
            default_type application/problem+json;
            add_header X-Request-ID $gateway_request_id always;
            add_header X-Content-Type-Options nosniff always;
            add_header X-Frame-Options DENY always;
            add_header Referrer-Policy no-referrer always;
            add_header Cross-Origin-Resource-Policy same-origin always;
            add_header Content-Security-Policy "{{ $apiCsp }}" always;
            add_header Retry-After 1 always;
            {{ include "productstore.gatewayProblem" (list 429 "Too Many Requests" (printf "More than %d requests per second (burst %d) from one address; retry in a second." (int $gw.rate) (int $gw.burst))) }}
        }

        location @gateway_too_large {
            types { }
            default_type application/problem+json;
            {{ include "productstore.gatewayProblem" (list 413 "Content Too Large" (printf "The request body is larger than the gateway allows (%s)." $gw.maxBody)) }}
        }

        location @gateway_bad_request {
            types { }
            default_type application/problem+json;
            {{ include "productstore.gatewayProblem" (list 400 "Bad Request" "The gateway could not read this request (its request line or headers).") }}
        }

        location @gateway_method_not_allowed {
            types { }
            default_type application/problem+json;
            {{ include "productstore.gatewayProblem" (list 405 "Method Not Allowed" "This path does not take this method.") }}
        }

        location @gateway_unavailable {
            types { }
            default_type application/problem+json;
            {{ include "productstore.gatewayProblem" (list 503 "Service Unavailable" "The service behind this path is not running or did not answer.") }}
        }
    }
}
{{- end -}}
