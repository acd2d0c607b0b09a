pub struct HttpHost;
