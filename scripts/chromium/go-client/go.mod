module github.com/wscap/wscap/scripts/chromium/go-client

go 1.26

require github.com/gorilla/websocket v1.5.3
